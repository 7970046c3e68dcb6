// Time travel in the browser (docs/api.md, "GET /boards/:id/history", "POST
// /boards/:id/history/restore", "GET /boards/:id/visit"): the history panel's slider draws the board
// read-only as it was (the live notes hidden, the canvas shielded), "Play" walks to now, "Restore
// this version" is seen live by a second user and Undo takes it back; "since your last visit"
// marks the notes others changed since this user last had the board open and lists the changes.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, teamBoard, apiOk, userContext, openBoard, note, noteBox, within, waitUntil, shot, axeViolations } from "./lib.mjs";

const SECOND = 1000;

describe("history: time travel in the browser", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  // alice owns a team board; bob is an editor of the team. After event n the board had "Kept" at
  // x 40 and "Deleted later"; then Kept moved to x 400, "Deleted later" was deleted, "Added later"
  // added.
  async function world(tr) {
    const { alice, bob, board, items: [kept, gone] } = await teamBoard(tr, browser, {
      title: "Retro", notes: [{ text: "Kept", x: 40, y: 40 }, { text: "Deleted later", x: 300, y: 40, color: "#b3e5fc" }],
    });
    const n = (await apiOk(alice.ctx, "GET", `/boards/${board.id}`)).last_event_id;
    await apiOk(alice.ctx, "PATCH", `/boards/${board.id}/items/${kept.id}`, { x: 400, y: 300 });
    await apiOk(alice.ctx, "DELETE", `/boards/${board.id}/items/${gone.id}`);
    const added = await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "Added later", x: 600, y: 40 });
    return { alice, bob, board, kept, gone, added, n };
  }

  const slideTo = (page, seq) => page.getByTestId("history-slider").evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, seq);
  const historyIds = (page) => page.$$eval('[data-testid="history-note"]', (els) => els.map((e) => Number(e.dataset.id)).sort((a, b) => a - b));
  const liveMode = (page, want, msg) => within(page, 5 * SECOND, (w) => document.querySelector(".board-view")?.classList.contains("history-mode") === !w, want, msg);

  test("the slider shows an old state read-only; Play walks to now; 'Restore this version' is live at bob's and Undo takes it back", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr);
      const pa = await openBoard(w.alice.ctx, w.board.id);
      const pb = await openBoard(w.bob.ctx, w.board.id);
      await pa.getByTestId("board-history").click();
      await pa.getByTestId("history-panel").waitFor();
      await within(pa, 5 * SECOND, () => /: .* added 'Added later'/.test(document.querySelector('[data-testid="history-at"]').textContent), null, "the events' words loaded");
      assert.match(await pa.getByTestId("history-at").textContent(), new RegExp(`Now, after change ${w.n + 3}: ${w.alice.name} added 'Added later', just now`));
      assert.equal(await pa.getByTestId("history-restore").isDisabled(), true, "nothing to restore at now");
      // back to event n: the board as it was, read only
      await slideTo(pa, w.n);
      await within(pa, 5 * SECOND, (n) => document.querySelectorAll('[data-testid="history-note"]').length === n, 2, "two notes then");
      assert.deepEqual(await historyIds(pa), [w.kept.id, w.gone.id].sort((a, b) => a - b));
      const then = pa.locator(`[data-testid="history-note"][data-id="${w.kept.id}"]`);
      assert.equal(await then.evaluate((el) => el.style.left), "40px");
      assert.equal(await note(pa, w.kept.id).isVisible(), false, "the live note is hidden");
      assert.match(await pa.getByTestId("history-banner").textContent(), new RegExp(`Read only: the board as it was after change ${w.n} of ${w.n + 3}`));
      assert.match(await pa.getByTestId("history-at").textContent(), new RegExp(`After change ${w.n} of ${w.n + 3}: ${w.alice.name} added 'Deleted later'`));
      // read only: the canvas is shielded (a double-click adds nothing), New note is off
      const box = await pa.getByTestId("canvas").boundingBox();
      assert.equal(await pa.evaluate(([x, y]) => document.elementFromPoint(x, y)?.dataset.testid, [box.x + 20, box.y + box.height - 60]), "history-shield");
      assert.equal(await pa.getByTestId("new-note").isDisabled(), true);
      await shot(pa, "history-slider");
      // Play from one step back walks to now and shows the live board again
      await slideTo(pa, w.n + 1);
      await pa.getByTestId("history-play").click();
      await liveMode(pa, true, "Play reaches now");
      // restore the version after n: bob sees it live
      await slideTo(pa, w.n);
      await within(pa, 5 * SECOND, (n) => document.querySelectorAll('[data-testid="history-note"]').length === n, 2, "two notes then");
      const restored = pa.waitForResponse((r) => r.url().endsWith("/history/restore"));
      await pa.getByTestId("history-restore").click();
      await pa.getByTestId("confirm-ok").click();
      assert.equal((await restored).status(), 200);
      await liveMode(pa, true, "alice back to the live board");
      for (const p of [pb, pa]) {
        await note(p, w.gone.id).waitFor({ timeout: 5 * SECOND });
        await within(p, 5 * SECOND, (i) => !document.querySelector(`[data-testid="note"][data-id="${i}"]`), w.added.id, "the later note gone");
        await within(p, 5 * SECOND, (i) => document.querySelector(`[data-testid="note"][data-id="${i}"]`)?.style.left === "40px", w.kept.id, "Kept back at x 40");
        assert.equal((await noteBox(p, w.gone.id)).text, "Deleted later");
      }
      // one Undo takes the whole restore back, live at bob's too
      await pa.getByTestId("board-undo").click();
      await within(pb, 5 * SECOND, (i) => !!document.querySelector(`[data-testid="note"][data-id="${i}"]`), w.added.id, "the later note back");
      await within(pb, 5 * SECOND, (i) => !document.querySelector(`[data-testid="note"][data-id="${i}"]`), w.gone.id, "the deleted note gone again");
      await within(pb, 5 * SECOND, (i) => document.querySelector(`[data-testid="note"][data-id="${i}"]`)?.style.left === "400px", w.kept.id, "Kept at x 400 again");
    });
  });

  test("a viewer sees the history (accessible) but no 'Restore this version'", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr);
      const carol = await userContext(tr, browser, "carol", { bypassCSP: true });  // axe-core is injected
      const team = (await apiOk(w.alice.ctx, "GET", `/boards/${w.board.id}`)).team_id;
      await apiOk(w.alice.ctx, "POST", `/teams/${team}/members`, { name: carol.name, role: "viewer" });
      const pc = await openBoard(carol.ctx, w.board.id);
      await pc.getByTestId("board-history").click();
      await slideTo(pc, w.n);
      await within(pc, 5 * SECOND, (n) => document.querySelectorAll('[data-testid="history-note"]').length === n, 2, "two notes then");
      assert.equal(await pc.getByTestId("history-restore").isHidden(), true);
      assert.deepEqual(await axeViolations(pc), [], "the open panel and the past board: no serious or critical axe violation");
      await pc.keyboard.press("Escape");
      await liveMode(pc, true, "closing the panel shows the live board");
      assert.equal(await note(pc, w.added.id).isVisible(), true);
    });
  });

  test("since your last visit: the notes alice changed while bob was away are marked, and the panel lists the changes", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr);
      const first = await openBoard(w.bob.ctx, w.board.id);
      const last = w.n + 3;
      await waitUntil(async () => (await apiOk(w.bob.ctx, "GET", `/boards/${w.board.id}/visit`)).seq === last, 5 * SECOND, "bob's visit reported");
      await first.close();
      await apiOk(w.alice.ctx, "PATCH", `/boards/${w.board.id}/items/${w.kept.id}`, { text: "Kept, edited" });
      const fresh = await apiOk(w.alice.ctx, "POST", `/boards/${w.board.id}/items`, { text: "While bob was away", x: 40, y: 400 });
      const pb = await openBoard(w.bob.ctx, w.board.id);
      for (const id of [w.kept.id, fresh.id]) {
        await within(pb, 5 * SECOND, (i) => document.querySelector(`[data-testid="note"][data-id="${i}"]`)?.dataset.since === "1", id, `note ${id} marked`);
      }
      assert.equal(await note(pb, w.added.id).evaluate((el) => el.dataset.since), undefined, "a note unchanged since is not marked");
      assert.equal(await pb.getByTestId("since-count").textContent(), "2");
      await pb.getByTestId("board-history").click();
      const items = await pb.getByTestId("since-item").allTextContents();
      assert.equal(items.length, 2);
      assert.match(items[0], new RegExp(`${w.alice.name} added 'While bob was away'`));
      assert.match(items[1], new RegExp(`${w.alice.name} edited 'Kept, edited'`));
      // the server now has the newest seq for bob; Clear marks takes the marks away
      await waitUntil(async () => (await apiOk(w.bob.ctx, "GET", `/boards/${w.board.id}/visit`)).seq === last + 2, 5 * SECOND, "the new visit reported");
      await pb.getByTestId("since-clear").click();
      assert.equal(await note(pb, w.kept.id).evaluate((el) => el.dataset.since), undefined);
      assert.equal(await pb.getByTestId("since").isHidden(), true);
    });
  });
});
