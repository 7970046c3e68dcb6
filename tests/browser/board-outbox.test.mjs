// The board and the outbox (issue 17, bug 2): a save that fails (5xx, network) keeps the change
// on screen marked "Unsaved" and is retried; queued changes survive a reload; after an outage
// the board says "While you were away: N changes" and highlights those notes.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, apiOk, userContext, note, noteBox, within, webctl, sql, psqlAvailable, BASE } from "./lib.mjs";

describe("board: failed saves are kept and retried", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  async function setup(tr, prefix, notes) {
    const { ctx, name } = await userContext(tr, browser, prefix);
    const board = await apiOk(ctx, "POST", "/boards", { title: "Outbox" });
    const items = [];
    for (const n of notes) items.push(await apiOk(ctx, "POST", `/boards/${board.id}/items`, n));
    const page = await ctx.newPage();
    await page.goto(`${BASE}#/boards/${board.id}`);
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
    return { ctx, name, board, items, page };
  }

  async function drag(page, id, dx, dy) {
    const box = await note(page, id).boundingBox();
    await page.mouse.move(box.x + 60, box.y + 60);
    await page.mouse.down();
    await page.mouse.move(box.x + 60 + dx / 2, box.y + 60 + dy / 2, { steps: 4 });
    await page.mouse.move(box.x + 60 + dx, box.y + 60 + dy, { steps: 4 });
    await page.mouse.up();
  }

  test("503 on save: the moved note stays, the typed text stays, both marked unsaved, then saved on retry", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 503/);
      const { ctx, board, items, page } = await setup(tr, "flaky", [{ text: "steady", x: 100, y: 100 }]);
      const id = items[0].id;
      let down = true;
      await page.route("**/api/v1/boards/*/items/*", async (route) => {
        if (down && route.request().method() === "PATCH") {
          await route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"unavailable","message":"busy"}}' });
        } else await route.continue();
      });
      await drag(page, id, 120, 80);
      // One look at the note for both (the outbox retries a 503 soon after: a second look could
      // already find it "Saving…" again).
      await within(page, 3000, (i) => {
        const n = document.querySelector(`[data-id="${i}"]`);
        return n.dataset.sync === "unsaved" && n.querySelector('[data-testid="note-sync"]')?.textContent === "Unsaved";
      }, id, "marked unsaved, and its label says so");
      let b = await noteBox(page, id);
      assert.deepEqual([b.x, b.y], [220, 180], "no snap back");
      await note(page, id).dblclick({ position: { x: 50, y: 70 } });
      await page.getByTestId("note-input").fill("typed while the server is down");
      await page.keyboard.press("Control+Enter");
      b = await noteBox(page, id);
      assert.equal(b.text, "typed while the server is down");
      assert.equal(await page.getByTestId("note-conflict").count(), 0);
      // the server is back: the outbox sends both (at once on the browser's "online" event)
      down = false;
      await page.evaluate(() => window.dispatchEvent(new Event("online")));
      await within(page, 15000, (i) => document.querySelector(`[data-id="${i}"]`).dataset.sync === "saved", id, "saved after the retry");
      const s = await apiOk(ctx, "GET", `/boards/${board.id}/items/${id}`);
      assert.deepEqual([s.x, s.y, s.text], [220, 180, "typed while the server is down"]);
      b = await noteBox(page, id);
      assert.deepEqual([b.x, b.y, b.text], [220, 180, "typed while the server is down"]);
    });
  });

  test("queued changes survive a reload and are shown on their notes, then sent", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/ERR_CONNECTION_REFUSED|ERR_FAILED/);
      const { ctx, board, items, page } = await setup(tr, "reload", [{ text: "move me", x: 80, y: 80 }]);
      const id = items[0].id;
      let down = true;
      await page.route("**/api/v1/boards/*/items**", async (route) => {
        if (down && route.request().method() !== "GET") await route.abort("connectionrefused");
        else await route.continue();
      });
      await drag(page, id, 200, 40);
      await page.getByTestId("new-note").click();
      await page.keyboard.type("made offline");
      await page.keyboard.press("Control+Enter");
      await within(page, 3000, () => [...document.querySelectorAll('[data-testid="note"]')].filter((n) => n.dataset.sync === "unsaved").length === 2, null, "two unsaved notes");
      await page.reload();
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
      // after the reload: the move and the new note are shown, marked unsaved
      await within(page, 5000, (i) => document.querySelector(`[data-id="${i}"]`)?.dataset.sync === "unsaved", id, "the move is still unsaved");
      const b = await noteBox(page, id);
      assert.deepEqual([b.x, b.y], [280, 120]);
      const tmp = page.locator('[data-testid="note"][data-id^="tmp-"]');
      assert.equal(await tmp.count(), 1);
      assert.equal(await tmp.getByTestId("note-text").textContent(), "made offline");
      down = false;
      await page.evaluate(() => window.dispatchEvent(new Event("online")));
      await within(page, 15000, () => [...document.querySelectorAll('[data-testid="note"]')].every((n) => n.dataset.sync === "saved" && /^\d+$/.test(n.dataset.id)), null, "all saved");
      const server = (await apiOk(ctx, "GET", `/boards/${board.id}`)).items;
      assert.equal(server.length, 2);
      assert.deepEqual(server.map((i) => i.text).sort(), ["made offline", "move me"]);
      const m = server.find((i) => i.id === id);
      assert.deepEqual([m.x, m.y], [280, 120]);
    });
  });

  test("after an outage: 'While you were away: N changes' and the changed notes highlighted", { skip: !(process.env.TB_WEBCTL && psqlAvailable()) && "needs TB_WEBCTL and TB_PSQL (run.sh sets them)" }, async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/ERR_CONNECTION_REFUSED|status of 50\d|ERR_FAILED|ERR_EMPTY_RESPONSE/);
      const { items, page } = await setup(tr, "away", [{ text: "one", x: 40, y: 40 }, { text: "two", x: 300, y: 40 }]);
      webctl("stop");
      try {
        await within(page, 30000, () => document.querySelector('[data-testid="live-status"]').dataset.state === "offline", null, "offline");
        // two changes made meanwhile (straight in the database: the web server is down; the
        // event log records them all the same)
        sql(`SET search_path TO teamboard; UPDATE items SET text = 'two, changed', version = version + 1 WHERE id = ${items[1].id}`);
        sql(`SET search_path TO teamboard; UPDATE items SET x = 320, version = version + 1 WHERE id = ${items[1].id}`);
        await page.waitForTimeout(5500);  // an outage of more than 5 s
      } finally {
        webctl("start");
      }
      const away = page.getByTestId("away-summary");
      await away.waitFor({ timeout: 45000 });
      assert.match(await away.textContent(), /While you were away: 2 changes/);
      assert.equal(await note(page, items[1].id).evaluate((el) => el.classList.contains("note-away")), true);
      assert.equal(await note(page, items[0].id).evaluate((el) => el.classList.contains("note-away")), false);
    });
  });
});
