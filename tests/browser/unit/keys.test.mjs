// Unit tests of the keyboard moves (web/js/board/keys.js): what one save after Alt+arrows
// (Shift+arrows) sends, on a fake board context. node --test, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { install } from "../../../web/js/board/keys.js";

const item = (o = {}) => ({ id: 1, board_id: 1, version: 5, x: 50, y: 40, width: 200, height: 150, z: 0, text: "Idea 5", color: "#fff59d", ...o });

// A board context holding one note; B.commits records what would be saved.
function board(it = item()) {
  const el = { style: {}, focus() {} };
  const B = {
    items: new Map([[it.id, it]]), els: new Map([[it.id, el]]), keyMoves: new Map(), commits: [],
    view: (id) => B.items.get(id), canEdit: () => true, revealNote() {}, renderNote() {},
    commit: (id, fields) => { B.commits.push([id, fields]); },
    root: { addEventListener() {} }, canvas: { addEventListener() {} },
  };
  install(B);
  B.press = (key, mods = {}) => B.onNoteKey({ key, altKey: false, shiftKey: false, ctrlKey: false, metaKey: false, ...mods, target: el, preventDefault() {} }, it.id);
  return B;
}

test("an undo landing during a keyboard move down keeps its x: the save sends y only", () => {
  // After a redo the note is at x 50; Alt+ArrowDown starts from there; the undo (x back to 40,
  // a newer version) lands before the move is saved. Sending x 50 with the y would silently
  // take the undo back (position is last-writer-wins).
  const B = board();
  B.press("ArrowDown", { altKey: true });
  B.items.set(1, item({ x: 40, version: 6 }));
  B.flushKeyMove(1);
  assert.deepEqual(B.commits, [[1, { y: 50 }]]);
});

test("what the keys changed is sent, field by field; nothing when they came back", () => {
  let B = board();
  for (const k of ["ArrowRight", "ArrowRight", "ArrowRight"]) B.press(k, { altKey: true });
  B.press("ArrowDown", { altKey: true, shiftKey: true });
  B.flushKeyMove(1);
  assert.deepEqual(B.commits, [[1, { x: 80, y: 90 }]], "Alt+arrows 10 px, Alt+Shift 50 px");
  B = board();
  B.press("ArrowRight", { shiftKey: true });
  B.flushKeyMove(1);
  assert.deepEqual(B.commits, [[1, { width: 210 }]], "Shift+ArrowRight: wider only");
  B = board();
  B.press("ArrowLeft", { altKey: true });
  B.press("ArrowRight", { altKey: true });
  B.flushKeyMove(1);
  assert.deepEqual(B.commits, [], "back where it was: no save");
});
