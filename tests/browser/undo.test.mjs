// Undo and redo in the browser (docs/api.md, "Undo and redo"): Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y
// and the bar's Undo / Redo buttons, their disabled states (what this user can undo or redo on the
// board: asked of the server at load, then followed from the board's events), the
// result at once here and live at the others', the conflict message naming who changed the note,
// the text editor's own Ctrl+Z left alone, no buttons for a viewer (following a role change live).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, withTracker, teamBoard, apiOk, openBoard, note, noteBox, within } from "./lib.mjs";

const SECOND = 1000;

describe("undo and redo in the browser", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  // alice owns a team board; bob is an editor of the team, carol a viewer; bob made the note.
  async function world(tr, { carol = false } = {}) {
    const members = carol ? { bob: "editor", carol: "viewer" } : { bob: "editor" };
    const w = await teamBoard(tr, browser, { members, title: "Retro" });
    const it = await apiOk(w.bob.ctx, "POST", `/boards/${w.board.id}/items`, { text: "Idea 5", x: 40, y: 40 });
    return { ...w, carol: w.carol ?? null, it };
  }

  const disabled = (page, id) => page.getByTestId(id).evaluate((b) => b.disabled);
  const waitDisabled = (page, id, want, msg) =>
    within(page, 5 * SECOND, ([i, w]) => document.querySelector(`[data-testid="${i}"]`)?.disabled === w, [id, want], msg || `${id} disabled=${want}`);
  const waitX = (page, id, x, msg) =>
    within(page, 5 * SECOND, ([i, v]) => parseInt(document.querySelector(`[data-testid="note"][data-id="${i}"]`)?.style.left, 10) === v, [id, x], msg);

  test("Alt+arrow move, Ctrl+Z puts it back (live at bob's), Ctrl+Shift+Z and Ctrl+Y redo; the buttons follow", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 409/);
      const w = await world(tr);
      const pa = await openBoard(w.alice.ctx, w.board.id);
      const pb = await openBoard(w.bob.ctx, w.board.id);
      // Fresh for alice: the board asks the server (GET /boards/:id/undo) what she can undo from
      // before she opened it: nothing, so both buttons are disabled without a click. bob made
      // the note before he opened the board: his Undo is enabled, his Redo not.
      await waitDisabled(pa, "board-undo", true, "alice: nothing to undo from before, disabled at load");
      await waitDisabled(pa, "board-redo", true, "alice: nothing to redo, disabled at load");
      await waitDisabled(pb, "board-undo", false, "bob made the note: Undo enabled at load");
      await waitDisabled(pb, "board-redo", true, "bob: nothing to redo, disabled at load");
      assert.equal(await pa.getByTestId("toast").count(), 0);
      // alice moves the note with the keyboard (one save after a pause)
      await note(pa, w.it.id).focus();
      await pa.keyboard.press("Alt+ArrowRight");
      await waitX(pb, w.it.id, 50, "bob sees the move");
      await waitDisabled(pa, "board-undo", false, "Undo enabled after a change");
      assert.equal(await disabled(pa, "board-redo"), true);
      // Ctrl+Z: back at once here and live at bob's, read out
      await pa.keyboard.press("Control+z");
      await waitX(pa, w.it.id, 40, "undone at alice's");
      await waitX(pb, w.it.id, 40, "undone live at bob's");
      await within(pa, 5 * SECOND, () => /Undone: moved 'Idea 5'/.test(document.querySelector('[data-testid="board-announcer"]').textContent), null, "announced");
      await waitDisabled(pa, "board-undo", true, "everything undone: Undo disabled");
      await waitDisabled(pa, "board-redo", false, "Redo enabled after an undo");
      // Ctrl+Shift+Z redoes
      await pa.keyboard.press("Control+Shift+Z");
      await waitX(pa, w.it.id, 50, "redone at alice's");
      await waitX(pb, w.it.id, 50, "redone live at bob's");
      await waitDisabled(pa, "board-redo", true, "nothing left to redo");
      await waitDisabled(pa, "board-undo", false, "the redo can be undone");
      // undo again with the button, redo with Ctrl+Y
      await pa.getByTestId("board-undo").click();
      await waitX(pb, w.it.id, 40, "undone again");
      await pa.keyboard.press("Control+y");
      await waitX(pb, w.it.id, 50, "Ctrl+Y redoes");
      // ... and alice sees it on her own screen before she goes on, as a user would: bob's
      // screen may be ahead of hers, and her page still showing x 40 from before the redo would
      // pass for the next undo's result (a flake: Ctrl+Z and Alt+ArrowDown pressed on a page
      // that had not yet shown the redo)
      await waitX(pa, w.it.id, 50, "Ctrl+Y redone at alice's");
      await waitDisabled(pa, "board-redo", true, "nothing left to redo after Ctrl+Y");
      // an undo, then a new change of alice's: the redo is cleared
      await pa.keyboard.press("Control+z");
      await waitX(pa, w.it.id, 40);
      await waitDisabled(pa, "board-redo", false);
      await note(pa, w.it.id).focus();
      await pa.keyboard.press("Alt+ArrowDown");
      await waitDisabled(pa, "board-redo", true, "a new change clears Redo");
      await waitDisabled(pa, "board-undo", false);
      const server = await apiOk(w.alice.ctx, "GET", `/boards/${w.board.id}/items/${w.it.id}`);
      assert.deepEqual([server.x, server.y], [40, 50]);
    });
  });

  test("undo of a delete brings the note back, here and at bob's", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr);
      const pa = await openBoard(w.alice.ctx, w.board.id);
      const pb = await openBoard(w.bob.ctx, w.board.id);
      await note(pa, w.it.id).focus();
      await pa.keyboard.press("Delete");
      await pa.getByTestId("confirm-ok").click();
      await within(pb, 5 * SECOND, (i) => !document.querySelector(`[data-testid="note"][data-id="${i}"]`), w.it.id, "gone at bob's");
      await waitDisabled(pa, "board-undo", false);
      await pa.getByTestId("board-undo").click();
      for (const p of [pa, pb]) {
        await note(p, w.it.id).waitFor({ timeout: 5 * SECOND });
        assert.equal(await note(p, w.it.id).getByTestId("note-text").textContent(), "Idea 5");
      }
      await within(pa, 5 * SECOND, () => /Undone: deleted 'Idea 5'/.test(document.querySelector('[data-testid="board-announcer"]').textContent), null, "announced");
    });
  });

  test("someone else changed the note since: the message names them and nothing changes", async (t) => {
    await withTracker(t, browser, async (tr) => {
      tr.allow(/status of 409/);
      const w = await world(tr);
      const pa = await openBoard(w.alice.ctx, w.board.id);
      const moved = await apiOk(w.alice.ctx, "PATCH", `/boards/${w.board.id}/items/${w.it.id}`, { x: 300 });
      await waitX(pa, w.it.id, 300, "alice's move shown");
      await apiOk(w.bob.ctx, "PATCH", `/boards/${w.board.id}/items/${w.it.id}`, { text: "Bob's idea" }, { "If-Match": `"${moved.version}"` });
      await within(pa, 5 * SECOND, (i) => document.querySelector(`[data-testid="note"][data-id="${i}"] [data-testid="note-text"]`)?.textContent === "Bob's idea", w.it.id, "bob's text shown");
      await pa.getByTestId("canvas").focus();
      await pa.keyboard.press("Control+z");
      const msg = pa.getByTestId("toast").filter({ hasText: w.bob.name });
      await msg.waitFor({ timeout: 5 * SECOND });
      assert.match(await msg.textContent(), /Can't undo/);
      const box = await noteBox(pa, w.it.id);
      assert.deepEqual([box.x, box.text], [300, "Bob's idea"], "nothing changed on the board");
      const server = await apiOk(w.alice.ctx, "GET", `/boards/${w.board.id}/items/${w.it.id}`);
      assert.deepEqual([server.x, server.text], [300, "Bob's idea"], "nothing changed on the server");
      assert.equal(await disabled(pa, "board-undo"), false, "the change stays undoable");
    });
  });

  test("Ctrl+Z in an open text editor undoes the typing, not a board change", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr);
      await apiOk(w.alice.ctx, "PATCH", `/boards/${w.board.id}/items/${w.it.id}`, { x: 200 });  // something alice could undo
      const pa = await openBoard(w.alice.ctx, w.board.id);
      const undos = [];
      pa.on("request", (r) => { if (/\/(undo|redo)$/.test(r.url())) undos.push(r.url()); });
      await note(pa, w.it.id).focus();
      await pa.keyboard.press("Enter");
      const input = pa.getByTestId("note-input");
      await input.waitFor();
      await pa.keyboard.press("End");
      await pa.keyboard.type(" plus");
      assert.equal(await input.inputValue(), "Idea 5 plus");
      await pa.keyboard.press("Control+z");
      await within(pa, 2 * SECOND, () => !document.querySelector('[data-testid="note-input"]').value.endsWith(" plus"), null, "the typing undone");
      assert.deepEqual(undos, [], "no board undo sent");
      assert.equal((await noteBox(pa, w.it.id)).x, 200, "the move stays");
      await pa.keyboard.press("Escape");
    });
  });

  test("a viewer has no Undo / Redo (nor Ctrl+Z); made editor live, they appear", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const w = await world(tr, { carol: true });
      const pc = await openBoard(w.carol.ctx, w.board.id);
      assert.equal(await pc.getByTestId("board-undo").isHidden(), true);
      assert.equal(await pc.getByTestId("board-redo").isHidden(), true);
      const undos = [];
      pc.on("request", (r) => { if (/\/(undo|redo)$/.test(r.url())) undos.push(r.url()); });
      await pc.getByTestId("canvas").focus();
      await pc.keyboard.press("Control+z");
      await apiOk(w.alice.ctx, "PATCH", `/teams/${w.team.id}/members/${w.carol.user.id}`, { role: "editor" });
      await pc.getByTestId("board-undo").waitFor({ state: "visible", timeout: 5 * SECOND });
      await pc.getByTestId("board-redo").waitFor({ state: "visible" });
      assert.deepEqual(undos, [], "a viewer's Ctrl+Z sends nothing");
    });
  });
});
