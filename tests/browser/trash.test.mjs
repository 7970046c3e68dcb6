// The trash in the browser (docs/api.md, "Trash"): a board's deleted notes in the board's trash
// panel, restored there and back live on every open copy of the board (item.created with
// restored: true for a note the view had removed), the panel following deletes and restores of
// others, no Restore for a viewer; a deleted board on the Trash page, restored from there.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, teamBoard, apiOk, userContext, openBoard, note, within, BASE } from "./lib.mjs";

const SECOND = 1000;

describe("trash: notes and boards restored in the browser", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  // alice owns a team board with two notes; bob is an editor of the team, carol a viewer.
  async function world(tr) {
    const { alice, bob, carol, board, items: [keep, gone] } = await teamBoard(tr, browser, {
      members: { bob: "editor", carol: "viewer" },
      title: "Retro",
      notes: [{ text: "Stays", x: 40, y: 40 }, { text: "Deleted by bob", x: 300, y: 40, color: "#b3e5fc" }],
    });
    return { alice, bob, carol, board, keep, gone };
  }

  const trashIds = (page) => page.$$eval('[data-testid="trash-item"]', (els) => els.map((e) => Number(e.dataset.id)));

  test("a note deleted by bob shows in alice's open trash panel; she restores it and it is back on both boards, live", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr);
      const pa = await openBoard(w.alice.ctx, w.board.id);
      const pb = await openBoard(w.bob.ctx, w.board.id);
      await pa.getByTestId("board-trash").click();
      await pa.getByTestId("trash-empty").waitFor();
      assert.equal(await pa.getByTestId("trash-panel").evaluate((el) => document.activeElement === el.querySelector("h2")), true, "focus on the panel's heading");
      // bob deletes the note in his browser (no text confirm: the toolbar's delete asks first)
      await note(pb, w.gone.id).click({ position: { x: 20, y: 20 } });
      await pb.getByTestId("note-toolbar").getByTestId("note-delete").click();
      await pb.getByTestId("confirm-ok").click();
      await within(pb, 5 * SECOND, (i) => !document.querySelector(`[data-testid="note"][data-id="${i}"]`), w.gone.id, "gone at bob");
      await within(pa, 5 * SECOND, (i) => !document.querySelector(`[data-testid="note"][data-id="${i}"]`), w.gone.id, "gone at alice");
      // alice's open panel lists it (live), with who deleted it
      await within(pa, 5 * SECOND, (i) => !!document.querySelector(`[data-testid="trash-item"][data-id="${i}"]`), w.gone.id, "in alice's panel");
      const row = pa.locator(`[data-testid="trash-item"][data-id="${w.gone.id}"]`);
      assert.match(await row.textContent(), new RegExp(`Deleted by bob.*Blue · deleted by ${w.bob.name}`));
      // bob opens his panel too: it lists the note and drops it when alice restores it
      await pb.getByTestId("board-trash").click();
      await pb.locator(`[data-testid="trash-item"][data-id="${w.gone.id}"]`).waitFor({ timeout: 5 * SECOND });
      const restored = pa.waitForResponse((r) => r.url().endsWith(`/items/${w.gone.id}/restore`));
      await row.getByTestId("trash-item-restore").click();
      assert.equal((await restored).status(), 200);
      for (const p of [pa, pb]) {
        await note(p, w.gone.id).waitFor({ timeout: 5 * SECOND });
        assert.equal(await note(p, w.gone.id).getByTestId("note-text").textContent(), "Deleted by bob");
      }
      await within(pb, 5 * SECOND, () => !document.querySelector('[data-testid="trash-item"]'), null, "bob's panel empty after the restore");
      assert.deepEqual(await trashIds(pa), []);
      assert.match(await pa.getByTestId("trash-status").textContent(), /Note restored/);
      // Escape closes the panel, focus back on the Trash button
      await pa.keyboard.press("Escape");
      assert.equal(await pa.getByTestId("trash-panel").isHidden(), true);
      assert.equal(await pa.evaluate(() => document.activeElement?.dataset.testid), "board-trash");
    });
  });

  test("a viewer sees the board's trash but no Restore; a note restored meanwhile shows as 'not in the trash' (409)", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 409/);
      const w = await world(tr);
      await apiOk(w.alice.ctx, "DELETE", `/boards/${w.board.id}/items/${w.gone.id}`, undefined, { "If-Match": `"${w.gone.version}"` });
      const pc = await openBoard(w.carol.ctx, w.board.id);
      await pc.getByTestId("board-trash").click();
      await pc.locator(`[data-testid="trash-item"][data-id="${w.gone.id}"]`).waitFor({ timeout: 5 * SECOND });
      assert.equal(await pc.getByTestId("trash-item-restore").count(), 0, "no Restore for a viewer");
      // bob's panel is open; the restore's event is held back (offline stream), so his list is
      // stale when he clicks: the server's 409 not_deleted is shown in words
      const pb = await openBoard(w.bob.ctx, w.board.id);
      await pb.getByTestId("board-trash").click();
      const btn = pb.locator(`[data-testid="trash-item"][data-id="${w.gone.id}"]`).getByTestId("trash-item-restore");
      await btn.waitFor({ timeout: 5 * SECOND });
      await pb.route("**/restore", async (route) => {
        await apiOk(w.alice.ctx, "POST", `/boards/${w.board.id}/items/${w.gone.id}/restore`);
        await route.continue();
      });
      await btn.click();
      await pb.getByTestId("toast").filter({ hasText: "isn't in the trash any more" }).waitFor({ timeout: 5 * SECOND });
      await note(pb, w.gone.id).waitFor({ timeout: 5 * SECOND });
      await within(pc, 5 * SECOND, () => !document.querySelector('[data-testid="trash-item"]'), null, "carol's panel follows the restore");
    });
  });

  test("a board deleted from the board view goes to the trash for the server's days; restored from the Trash page it is back in the list", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const alice = await userContext(tr, browser, "alice");
      const board = await apiOk(alice.ctx, "POST", "/boards", { title: "Old plans" });
      const page = await openBoard(alice.ctx, board.id);
      await page.getByTestId("board-delete").click();
      assert.match(await page.getByTestId("confirm").textContent(), /goes to the trash/);
      await page.getByTestId("confirm-ok").click();
      const toast = page.getByTestId("toast-board-deleted");
      await toast.waitFor({ timeout: 5 * SECOND });
      const trash = await apiOk(alice.ctx, "GET", "/trash");
      const days = Math.round((Date.parse(trash.boards[0].purge_at) - Date.now()) / 86400000);
      assert.match(await toast.textContent(), new RegExp(`Old plans.*moved to the trash for ${days} days`));
      await page.waitForURL(/#\/boards$/);
      await page.getByTestId("trash-link").click();
      await page.waitForURL(/#\/trash$/);
      const row = page.locator(`[data-testid="trash-board"][data-board-id="${board.id}"]`);
      await row.waitFor();
      assert.match(await row.textContent(), new RegExp(`Old plans.*Deleted by ${alice.name}.*kept for ${days} days`));
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1", "focus on the heading");
      await row.getByTestId("trash-restore").click();
      await page.getByTestId("trash-empty").waitFor({ timeout: 5 * SECOND });
      await page.goto(`${BASE}#/boards`);
      await page.locator(`[data-testid="board-card"][data-board-id="${board.id}"]`).waitFor({ timeout: 5 * SECOND });
    });
  });
});
