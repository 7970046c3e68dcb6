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
    { op: "remove", id: 1, version: 3, actor: "sam", mine: false, held: true });
  assert.equal(eventAction(st(m), "item.updated", null).op, "none");
});

test("eventAction: a note restored from the trash (item.created, restored, past its tomb) comes back", () => {
  // deleted at version 3 (its item.deleted had 4): the restore has 5
  const s = st(new Map(), { tombs: new Map([[7, 4]]) });
  const restored = { item: item(7, { version: 5 }), actor: { name: "sam" }, restored: true };
  assert.equal(eventAction(s, "item.created", restored).op, "upsert");
  assert.equal(eventAction(s, "item.created", { ...restored, item: item(7, { version: 4 }) }).op, "none");
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

test("boundsOf, fitView, zoomAbout", async () => {
  const { boundsOf, fitView, zoomAbout, ZOOM_MIN } = await import("../../../web/js/board/state.js");
  assert.equal(boundsOf([]), null);
  assert.deepEqual(boundsOf([item(1, { x: -10, y: 5 }), item(2, { x: 300, y: 400 })]), { x: -10, y: 5, w: 510, h: 545 });
  const v = fitView({ x: 0, y: 0, w: 2000, h: 1000 }, 1064, 564);
  assert.equal(v.zoom, 0.5);
  assert.deepEqual(v.pan, { x: 532 - 500, y: 282 - 250 });
  assert.equal(fitView({ x: 0, y: 0, w: 10, h: 10 }, 800, 600).zoom, 1);
  assert.equal(fitView({ x: 0, y: 0, w: 1e6, h: 10 }, 800, 600).zoom, ZOOM_MIN);
  // the board point under (100, 50) stays there
  const z = zoomAbout({ pan: { x: 20, y: 10 }, zoom: 1 }, 2, 100, 50);
  assert.equal(z.zoom, 2);
  assert.deepEqual([(100 - z.pan.x) / 2, (50 - z.pan.y) / 2], [80, 40]);
  assert.equal(zoomAbout({ pan: { x: 0, y: 0 }, zoom: 1 }, 99, 0, 0).zoom, 2.5);
});

test("freeSpot: the centre when free, else the nearest free place, never overlapping", async () => {
  const { freeSpot } = await import("../../../web/js/board/state.js");
  assert.deepEqual(freeSpot([], 500, 400), { x: 400, y: 325 });
  const taken = [item(1, { x: 400, y: 325 })];
  const p = freeSpot(taken, 500, 400);
  assert.notDeepEqual(p, { x: 400, y: 325 });
  const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + 200 && a.y < b.y + b.height && b.y < a.y + 150;
  assert.equal(overlaps(p, taken[0]), false);
  // with a view: the place found is inside it
  const view = { x: 0, y: 0, w: 900, h: 600 };
  const crowd = [item(1, { x: 300, y: 200 }), item(2, { x: 300, y: 0 }), item(3, { x: 520, y: 200 })];
  const v = freeSpot(crowd, 400, 275, 200, 150, view);
  assert.ok(v.x >= 8 && v.y >= 8 && v.x + 200 <= 892 && v.y + 150 <= 592, JSON.stringify(v));
  assert.ok(crowd.every((o) => !overlaps(v, o)));
  // five notes in a row at the same centre: five different places, none overlapping
  const placed = [];
  for (let i = 0; i < 5; i++) {
    const q = freeSpot(placed, 500, 400);
    assert.ok(placed.every((o) => !overlaps(q, o)));
    placed.push(item(i, { x: q.x, y: q.y }));
  }
});

test("nearestInDirection picks the next note that way", async () => {
  const { nearestInDirection } = await import("../../../web/js/board/state.js");
  const a = item(1, { x: 0, y: 0 });
  const b = item(2, { x: 300, y: 20 });
  const c = item(3, { x: 300, y: 400 });
  const d = item(4, { x: 0, y: 300 });
  const all = [a, b, c, d];
  assert.equal(nearestInDirection(all, a, "right").id, 2);
  assert.equal(nearestInDirection(all, a, "down").id, 4);
  assert.equal(nearestInDirection(all, b, "left").id, 1);
  assert.equal(nearestInDirection(all, a, "left"), null);
  assert.equal(nearestInDirection(all, d, "right").id, 3);
});

test("announce: a change in words", async () => {
  const { changeWords } = await import("../../../web/js/board/announce.js");
  const a = item(1, { text: "Idea 5" });
  assert.equal(changeWords(a, { ...a, x: 5 }), "moved 'Idea 5'");
  assert.equal(changeWords(null, a), "added 'Idea 5'");
  assert.equal(changeWords(a, a, "deleted"), "deleted 'Idea 5'");
  assert.equal(changeWords(a, { ...a, text: "Idea 6" }), "edited 'Idea 6'");
  assert.equal(changeWords(a, { ...a, color: "#fff" }), "recoloured 'Idea 5'");
  assert.equal(changeWords(item(2), { ...item(2), z: 4 }), "brought a note to the front");
});
