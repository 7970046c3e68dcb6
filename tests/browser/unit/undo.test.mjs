// Unit test of the undo's words (web/js/board/undo.js): what an undo or redo event took back, read
// out as "Undone: moved 'Idea 5'". node --test, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { undoWords } from "../../../web/js/board/undo.js";

const it = { id: 1, text: "Idea 5", color: "#fff59d", x: 40, y: 40, width: 200, height: 150, z: 1 };

test("an update taken back is named by the fields it set back (from the event's before)", () => {
  assert.equal(undoWords("undo", { type: "item.updated", item: it, changed: ["x"], before: { x: 50 } }), "moved 'Idea 5'");
  assert.equal(undoWords("redo", { type: "item.updated", item: { ...it, text: "Idea 6" }, changed: ["text"], before: { text: "Idea 5" } }), "edited 'Idea 6'");
  assert.equal(undoWords("undo", { type: "item.updated", item: it, changed: ["color"], before: { color: "#b3e5fc" } }), "recoloured 'Idea 5'");
});

test("a create or delete taken back: an undo names the change it took back, a redo the change redone", () => {
  assert.equal(undoWords("undo", { type: "item.deleted", item: it }), "added 'Idea 5'");
  assert.equal(undoWords("undo", { type: "item.created", item: it, restored: true }), "deleted 'Idea 5'");
  assert.equal(undoWords("redo", { type: "item.created", item: it, restored: true }), "added 'Idea 5'");
  assert.equal(undoWords("redo", { type: "item.deleted", item: { ...it, text: "" } }), "deleted a note");
});
