// Lost work on the board (issue 17, bugs 1 and 3): typing at once after a double-click or "New
// note" reaches the note, not the canvas shortcuts (even while the create is still on its way),
// and Escape keeps the typed text as a draft instead of throwing it away.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, apiOk, userContext, note, within, BASE, sleep } from "./lib.mjs";

describe("board: typed work is never lost", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  async function boardPage(tr, prefix) {
    const { ctx, name } = await userContext(tr, browser, prefix);
    const board = await apiOk(ctx, "POST", "/boards", { title: "Typing" });
    const page = await ctx.newPage();
    await page.goto(`${BASE}#/boards/${board.id}`);
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
    return { ctx, name, board, page };
  }

  test("double-click then type at once (slow create): one note, every key in it", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { ctx, board, page } = await boardPage(tr, "quick");
      // the create takes 600 ms on its way: the keys typed meanwhile must not reach the canvas
      await page.route("**/api/v1/boards/*/items", async (route) => {
        if (route.request().method() === "POST") await sleep(600);
        await route.continue();
      });
      const posts = [];
      page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/items")) posts.push(r.postDataJSON()); });
      await page.getByTestId("canvas").dblclick({ position: { x: 400, y: 300 } });
      await page.keyboard.type("nine new notes", { delay: 5 });
      await page.keyboard.press("Control+Enter");
      await within(page, 5000, () => {
        const n = document.querySelectorAll('[data-testid="note"]');
        return n.length === 1 && !n[0].dataset.id.startsWith("tmp-") && n[0].dataset.sync === "saved";
      }, null, "one saved note");
      const items = (await apiOk(ctx, "GET", `/boards/${board.id}`)).items;
      assert.equal(items.length, 1, `notes: ${JSON.stringify(items.map((i) => i.text))}`);
      assert.equal(items[0].text, "nine new notes");
      assert.equal(posts.length, 1);
      assert.equal(await page.getByTestId("note").count(), 1);
    });
  });

  test("New note then type at once: the editor is open before the create is answered", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { ctx, board, page } = await boardPage(tr, "btn");
      await page.route("**/api/v1/boards/*/items", async (route) => {
        if (route.request().method() === "POST") await sleep(800);
        await route.continue();
      });
      await page.getByTestId("new-note").click();
      // at once: the editor is there and focused, on a temporary note
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "note-input");
      assert.match(await page.getByTestId("note").first().getAttribute("data-id"), /^tmp-/);
      await page.keyboard.type("no keystroke lost");
      await page.keyboard.press("Control+Enter");
      await within(page, 5000, () => document.querySelector('[data-testid="note"]')?.dataset.sync === "saved", null, "saved");
      const items = (await apiOk(ctx, "GET", `/boards/${board.id}`)).items;
      assert.deepEqual(items.map((i) => i.text), ["no keystroke lost"]);
      // focus stays on the note after its editor closed
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "note");
    });
  });

  test("Escape keeps the typed text as a draft (marked unsaved); Save saves it, Discard asks nothing more", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { ctx, board, page } = await boardPage(tr, "esc");
      const it = await apiOk(ctx, "POST", `/boards/${board.id}/items`, { text: "original", x: 100, y: 100 });
      await page.reload();
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
      const patches = [];
      page.on("request", (r) => { if (r.method() === "PATCH") patches.push(r.postDataJSON()); });
      await note(page, it.id).dblclick({ position: { x: 60, y: 60 } });
      await page.getByTestId("note-input").fill("a long thought");
      await page.keyboard.press("Escape");
      // the note keeps showing the typed text, marked as an unsaved draft; nothing was sent
      await note(page, it.id).getByTestId("note-draft").waitFor();
      assert.equal(await note(page, it.id).getByTestId("note-text").textContent(), "a long thought");
      assert.match(await note(page, it.id).getByTestId("note-draft").textContent(), /not saved/i);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "note");
      assert.deepEqual(patches, []);
      // editing again continues the draft
      await page.keyboard.press("Enter");
      assert.equal(await page.getByTestId("note-input").inputValue(), "a long thought");
      await page.keyboard.type(", kept");
      await page.keyboard.press("Escape");
      await note(page, it.id).getByTestId("draft-save").click();
      await within(page, 5000, (id) => document.querySelector(`[data-id="${id}"]`).dataset.sync === "saved" && !document.querySelector(`[data-id="${id}"] [data-testid="note-draft"]`), it.id, "draft saved");
      assert.equal((await apiOk(ctx, "GET", `/boards/${board.id}/items/${it.id}`)).text, "a long thought, kept");
      // a second draft, discarded: the saved text is back
      await note(page, it.id).dblclick({ position: { x: 60, y: 60 } });
      await page.getByTestId("note-input").fill("throw away");
      await page.keyboard.press("Escape");
      await note(page, it.id).getByTestId("draft-discard").click();
      assert.equal(await note(page, it.id).getByTestId("note-text").textContent(), "a long thought, kept");
      assert.equal(await note(page, it.id).getByTestId("note-draft").count(), 0);
    });
  });
});
