// Unit tests of the board's pure state functions (web/js/board/state.js): node --test, no
// browser. Run: node --test tests/browser/unit/
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  clamp, isDark, noteLabel, shortText, describeFields, stackOrder, frontZ, eventAction, mergeItems, initialPan, MAX_Z,
} from "../../../web/js/board/state.js";

const item = (id, o = {}) => ({ id, board_id: 1, version: 1, x: 0, y: 0, width: 200, height: 150, z: 0, text: "", color: "#fff59d", ...o });
const mapOf = (...its) => new Map(its.map((i) => [i.id, i]));
const st = (items, o = {}) => ({ boardId: 1, board: { id: 1, version: 3, role: "editor", team_id: 7 }, me: { id: 5, name: "ann" }, items, tombs: new Map(), ...o });

test("clamp rounds and bounds", () => {
  assert.equal(clamp(3.6, 0, 10), 4);
  assert.equal(clamp(-5, 0, 10), 0);
  assert.equal(clamp(50, 0, 10), 10);
});

test("isDark: only dark colours", () => {
  assert.equal(isDark("#000000"), true);
  assert.equal(isDark("#fff59d"), false);
  assert.equal(isDark("nonsense"), false);
});

test("noteLabel names text and colour; long text is cut at 60", () => {
  assert.equal(noteLabel(item(1, { text: "Idea 5\nmore" })), "Note: Idea 5, Yellow");
  assert.equal(noteLabel(item(1, { color: "#123456" })), "Note (empty), custom color");
  assert.equal(shortText({ text: "x".repeat(70) }), "x".repeat(60) + "…");
});

test("describeFields in words", () => {
  assert.equal(describeFields({ x: 1, color: "#b3e5fc" }), "moved it, made it blue");
  assert.equal(describeFields({ text: "a" }), "your edit");
});

test("stackOrder: by z then id; temporary ids on top of equal z", () => {
  const m = mapOf(item(3, { z: 1 }), item(1, { z: 1 }), item(2, { z: 0 }), item("tmp-a", { z: 1 }));
  assert.deepEqual(stackOrder(m), [2, 1, 3, "tmp-a"]);
});

test("frontZ: one above the max, null when on top, capped", () => {
  const m = mapOf(item(1, { z: 4 }), item(2, { z: 9 }));
  assert.equal(frontZ(m, 1), 10);
  assert.equal(frontZ(m, 2), null);
  assert.equal(frontZ(mapOf(item(1), item(2, { z: MAX_Z })), 1), MAX_Z);
  assert.equal(frontZ(m, 99), null);
});

test("eventAction: newer items upsert, own/older/tombstoned/other boards do nothing", () => {
  const m = mapOf(item(1, { version: 2 }));
  const ev = (it, actor = "sam") => ({ item: it, actor: { name: actor } });
  assert.deepEqual(eventAction(st(m), "item.updated", ev(item(1, { version: 3 }))).op, "upsert");
  assert.equal(eventAction(st(m), "item.updated", ev(item(1, { version: 3 }))).flash, true);
  assert.equal(eventAction(st(m), "item.updated", ev(item(1, { version: 3 }), "ann")).flash, false);
  assert.equal(eventAction(st(m), "item.updated", ev(item(1, { version: 2 }))).op, "none");
  assert.equal(eventAction(st(m), "item.created", ev(item(4, { board_id: 2 }))).op, "none");
  assert.equal(eventAction(st(m, { tombs: new Map([[4, 1]]) }), "item.created", ev(item(4))).op, "none");
  assert.equal(eventAction(st(m), "item.created", ev(item(4))).flash, false);
  assert.deepEqual(eventAction(st(m), "item.deleted", ev(item(1, { version: 3 }))),
    { op: "remove", id: 1, version: 3, actor: "sam", held: true });
  assert.equal(eventAction(st(m), "item.updated", null).op, "none");
});

test("eventAction: board rename and my role", () => {
  const s = st(new Map());
  assert.equal(eventAction(s, "board.updated", { board: { version: 4, title: "x" } }).op, "board");
  assert.equal(eventAction(s, "board.updated", { board: { version: 3 } }).op, "none");
  assert.deepEqual(eventAction(s, "member.updated", { member: { user_id: 5, team_id: 7, role: "viewer" } }), { op: "role", role: "viewer" });
  assert.equal(eventAction(s, "member.updated", { member: { user_id: 6, team_id: 7, role: "viewer" } }).op, "none");
  assert.equal(eventAction(s, "member.updated", { member: { user_id: 5, team_id: 7, role: "editor" } }).op, "none");
});

test("mergeItems keeps unchanged objects and temporary notes, lists removed ids", () => {
  const a = item(1);
  const m = mapOf(a, item(2), item("tmp-k"));
  const { items, removed } = mergeItems(m, [item(1), item(3)]);
  assert.equal(items.get(1), a);
  assert.deepEqual([...items.keys()].sort(), [1, 3, "tmp-k"].sort());
  assert.deepEqual(removed, [2]);
});

test("initialPan shows the top-left notes", () => {
  assert.deepEqual(initialPan(new Map(), 800, 600), { x: 0, y: 0 });
  assert.deepEqual(initialPan(mapOf(item(1, { x: 2000, y: -50 })), 800, 600), { x: 24 - 2000, y: 74 });
  assert.deepEqual(initialPan(mapOf(item(1, { x: 10, y: 10 })), 800, 600), { x: 0, y: 0 });
});
