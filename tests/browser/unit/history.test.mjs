// Unit test of the history panel's words and of "since your last visit"'s choice of changes
// (web/js/board/history.js, web/js/board/since.js). node --test, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventWords } from "../../../web/js/board/history.js";
import { sinceChanges } from "../../../web/js/board/since.js";

const it = { id: 1, text: "Idea 5", color: "#fff59d", x: 40, y: 40, width: 200, height: 150, z: 1 };

test("an event in words: notes, the board, members, undos", () => {
  assert.equal(eventWords({ type: "item.created", item: it }), "added 'Idea 5'");
  assert.equal(eventWords({ type: "item.created", item: it, restored: true }), "restored 'Idea 5'");
  assert.equal(eventWords({ type: "item.updated", item: it, changed: ["x"], before: { x: 10 } }), "moved 'Idea 5'");
  assert.equal(eventWords({ type: "item.deleted", item: { ...it, text: "" } }), "deleted a note");
  assert.equal(eventWords({ type: "board.updated", board: { title: "Q3" }, changed: ["title"] }), "renamed the board to 'Q3'");
  assert.equal(eventWords({ type: "member.added", member: { name: "sam", role: "editor" } }), "added sam to the team");
  assert.equal(eventWords({ type: "member.added", member: { name: "sam", display_name: "Sam Ödegaard", role: "editor" } }),
    "added Sam Ödegaard to the team");
  assert.equal(eventWords({ type: "item.deleted", item: it, undo_of: 7 }), "deleted 'Idea 5' (an undo)");
  assert.equal(eventWords({ type: "item.created", item: it, redo_of: 8 }), "added 'Idea 5' (a redo)");
});

test("since your last visit: others' note and board changes after the seq; the notes still there are marked", () => {
  const me = 2;
  const events = [
    { seq: 4, type: "item.updated", actor: { id: 3 }, item: { id: 10 } },
    { seq: 5, type: "item.updated", actor: { id: 3 }, item: { id: 11 } },
    { seq: 6, type: "item.created", actor: { id: me }, item: { id: 12 } },
    { seq: 7, type: "item.deleted", actor: { id: 3 }, item: { id: 13 } },
    { seq: 8, type: "member.added", actor: { id: 3 }, member: { name: "x" } },
    { seq: 9, type: "board.updated", actor: { id: 3 }, board: { title: "T" }, changed: ["title"] },
  ];
  const { list, ids } = sinceChanges(events, 4, me);
  assert.deepEqual(list.map((d) => d.seq), [5, 7, 9]);
  assert.deepEqual([...ids], [11]);
});
