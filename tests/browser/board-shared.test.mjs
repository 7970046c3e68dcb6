// Shared truth on screen (issue 17): two people on one board. "Being edited by X" badges come
// and go; moves are last-writer-wins (no If-Match, no conflict box); selecting is an outline,
// not a raise, and "Bring to front" gives the same stacking on both screens; the one floating
// toolbar is above every note and inside the canvas, also for a note at the top edge.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, teamBoard, apiOk, note, noteBox, within, openBoard, waitUntil } from "./lib.mjs";

const SECOND = 1000;

describe("board: what others see", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  const pair = (tr, notes) => teamBoard(tr, browser, { title: "Shared", notes });
  const zOf = (page, id) => note(page, id).evaluate((el) => Number(el.style.zIndex));

  test("editing badge: bob sees 'alice is editing' while her editor is open, gone on save and when she leaves", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, bob, board, items } = await pair(tr, [{ text: "Plan", x: 120, y: 120 }]);
      const id = items[0].id;
      const pa = await openBoard(alice.ctx, board.id);
      const pb = await openBoard(bob.ctx, board.id);
      const announced = pa.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/items/${id}/editing`));
      await note(pa, id).dblclick({ position: { x: 50, y: 60 } });
      assert.equal((await announced).status(), 204);
      const badge = note(pb, id).getByTestId("editing-badge");
      await badge.waitFor({ timeout: 6 * SECOND }).catch(async (e) => {
        const mode = await pb.getByTestId("live-status").getAttribute("data-mode");
        throw new Error(`${e.message} (bob's live mode: ${mode}; log ${await pb.evaluate(() => JSON.stringify(window.__teamboard))})`);
      });
      assert.match(await badge.textContent(), new RegExp(`${alice.name} is editing`));
      assert.equal(await note(pa, id).getByTestId("editing-badge").count(), 0, "no badge for one's own editor");
      // saving ends it (DELETE .../editing -> editing.end)
      const ended = pa.waitForResponse((r) => r.request().method() === "DELETE" && r.url().endsWith(`/items/${id}/editing`));
      await pa.getByTestId("note-input").fill("Plan v2");
      await pa.keyboard.press("Control+Enter");
      assert.equal((await ended).status(), 204);
      await within(pb, 3 * SECOND, (i) => !document.querySelector(`[data-id="${i}"] [data-testid="editing-badge"]`), id, "badge gone after save");
      // editing again, then alice leaves the board: her badge goes with her presence (the server
      // sends at most one announcement a second per note and person: wait that out)
      await pa.waitForTimeout(1100);
      await note(pa, id).dblclick({ position: { x: 50, y: 60 } });
      await badge.waitFor({ timeout: 6 * SECOND });
      await pa.close();
      await within(pb, 15 * SECOND, (i) => !document.querySelector(`[data-id="${i}"] [data-testid="editing-badge"]`), id, "badge gone when alice left");
    });
  });

  test("last writer wins on moves: both drag one note, no conflict box, the later drop is where it ends up for both", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, bob, board, items } = await pair(tr, [{ text: "Contested", x: 200, y: 200 }]);
      const id = items[0].id;
      const pa = await openBoard(alice.ctx, board.id);
      const pb = await openBoard(bob.ctx, board.id);
      const patches = [];
      for (const p of [pa, pb]) p.on("request", (r) => { if (r.method() === "PATCH") patches.push(r.headers()["if-match"] || null); });
      // bob grabs the note and holds it
      const bb = await note(pb, id).boundingBox();
      await pb.mouse.move(bb.x + 60, bb.y + 60);
      await pb.mouse.down();
      await pb.mouse.move(bb.x + 60, bb.y + 100, { steps: 4 });
      // alice drags it elsewhere and drops it
      const ab = await note(pa, id).boundingBox();
      await pa.mouse.move(ab.x + 60, ab.y + 60);
      await pa.mouse.down();
      await pa.mouse.move(ab.x + 300, ab.y + 60, { steps: 6 });
      let saved = pa.waitForResponse((r) => r.request().method() === "PATCH");
      await pa.mouse.up();
      assert.equal((await saved).status(), 200);
      await within(pb, 2 * SECOND, ([i, v]) => Number(document.querySelector(`[data-id="${i}"]`).dataset.version) > v, [id, items[0].version], "bob got alice's move");
      // bob drops last: his position wins, at both
      await pb.mouse.move(bb.x + 60, bb.y + 160, { steps: 4 });
      saved = pb.waitForResponse((r) => r.request().method() === "PATCH");
      await pb.mouse.up();
      assert.equal((await saved).status(), 200);
      assert.deepEqual(patches, [null, null], "moves are sent without If-Match");
      for (const p of [pa, pb]) {
        await within(p, 2 * SECOND, (i) => document.querySelector(`[data-id="${i}"]`).style.top === "300px" && document.querySelector(`[data-id="${i}"]`).style.left === "200px", id, "bob's drop everywhere");
        assert.equal(await p.getByTestId("note-conflict").count(), 0);
      }
      const s = await apiOk(alice.ctx, "GET", `/boards/${board.id}/items/${id}`);
      assert.deepEqual([s.x, s.y], [200, 300]);
    });
  });

  test("selection is an outline, not a raise; Bring to front stacks the same for both", async (t) => {
    await withTracker(t, browser, async (tr) => {
      // b lies on top of a (higher z), overlapping it
      const { alice, bob, board, items } = await pair(tr, [{ text: "under", x: 100, y: 100 }, { text: "over", x: 180, y: 160 }]);
      const [a, b] = items;
      const pa = await openBoard(alice.ctx, board.id);
      const pb = await openBoard(bob.ctx, board.id);
      await note(pa, a.id).click({ position: { x: 30, y: 30 } });
      assert.equal(await note(pa, a.id).evaluate((el) => el.classList.contains("note-selected")), true);
      assert.ok(await zOf(pa, a.id) < await zOf(pa, b.id), "selected note not raised");
      const raised = await note(pa, a.id).evaluate((el) => getComputedStyle(el).zIndex);
      assert.ok(Number(raised) < 1000, `no local raise: z-index ${raised}`);
      // the toolbar is above every note: at its middle, the toolbar is what is hit
      const tb = await pa.getByTestId("note-toolbar").boundingBox();
      const hit = await pa.evaluate(([x, y]) => !!document.elementFromPoint(x, y)?.closest('[data-testid="note-toolbar"]'), [tb.x + tb.width / 2, tb.y + tb.height / 2]);
      assert.ok(hit, "toolbar not covered");
      // bring to front: the same order on both screens
      const saved = pa.waitForResponse((r) => r.request().method() === "PATCH");
      await pa.getByTestId("note-toolbar").getByTestId("note-front").click();
      assert.equal((await saved).status(), 200);
      for (const p of [pa, pb]) {
        await within(p, 2 * SECOND, ([x, y]) => Number(document.querySelector(`[data-id="${x}"]`).style.zIndex) > Number(document.querySelector(`[data-id="${y}"]`).style.zIndex), [a.id, b.id], "a on top");
      }
    });
  });

  test("the toolbar stays inside the canvas for a note at the top edge (below it) and follows pan and zoom", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const { alice, board, items } = await pair(tr, [{ text: "top", x: 300, y: 0 }, { text: "anchor", x: 0, y: 0 }]);
      const id = items[0].id;
      const pa = await openBoard(alice.ctx, board.id);
      await note(pa, id).click({ position: { x: 40, y: 40 } });
      const cb = await pa.getByTestId("canvas").boundingBox();
      let tb = await pa.getByTestId("note-toolbar").boundingBox();
      let nb = await note(pa, id).boundingBox();
      assert.ok(tb.y >= cb.y && tb.y + tb.height <= cb.y + cb.height && tb.x >= cb.x && tb.x + tb.width <= cb.x + cb.width, `toolbar inside the canvas: ${JSON.stringify([tb, cb])}`);
      assert.ok(tb.y >= nb.y + nb.height - 1 || tb.y + tb.height <= nb.y + 1, "toolbar does not cover the note");
      // zoom out with the keyboard (focus stays on the note): the toolbar follows the note
      await pa.keyboard.press("-");
      await pa.keyboard.press("-");
      nb = await note(pa, id).boundingBox();
      tb = await pa.getByTestId("note-toolbar").boundingBox();
      assert.ok(Math.abs(tb.x - Math.max(cb.x + 6, nb.x)) < 2, `toolbar follows: ${JSON.stringify([tb, nb])}`);
      assert.ok(tb.y >= cb.y, "still inside");
    });
  });
});
