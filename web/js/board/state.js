// The board's state as pure functions: note colours and limits, labels for people and screen
// readers, stacking order, what a live event does to the notes we hold, where a view starts and
// where a new note goes. Nothing here touches the DOM or the network, so node --test runs it
// (tests/browser/unit/state.test.mjs).

export const COLORS = [
  ["#fff59d", "Yellow"], ["#ffcc80", "Orange"], ["#f8bbd0", "Pink"], ["#d1c4e9", "Lavender"],
  ["#b3e5fc", "Blue"], ["#c5e1a5", "Green"], ["#ffffff", "White"],
];
export const COLOR_NAME = new Map(COLORS);
export const LIMIT = 100000;   // |x|, |y| on the board (the API's range)
export const MIN_W = 60;
export const MIN_H = 40;
export const MAX_WH = 4000;
export const MAX_Z = 1000000;
export const NOTE_W = 200;     // a new note's size (the API's default)
export const NOTE_H = 150;

export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, Math.round(v)));

// True for a colour dark enough to need light text.
export function isDark(hex) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
  if (!m) return false;
  const n = parseInt(m[1], 16);
  const lum = (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return lum < 0.5;
}

// The first line of a note's text, at most 60 characters ("" for an empty note).
export function shortText(it) {
  const t = ((it && it.text) || "").trim().split("\n")[0];
  return t.length > 60 ? t.slice(0, 60) + "…" : t;
}

// The note's accessible name: "Note: Idea 5, Yellow".
export function noteLabel(it) {
  const t = shortText(it);
  return `Note${t ? ": " + t : " (empty)"}, ${COLOR_NAME.get(it.color) || "custom color"}`;
}

// A change's fields in words, for the conflict box: "moved it, made it blue".
export function describeFields(f) {
  const out = [];
  if ("x" in f || "y" in f) out.push("moved it");
  if ("width" in f || "height" in f) out.push("resized it");
  if ("color" in f) out.push(`made it ${(COLOR_NAME.get(f.color) || "another color").toLowerCase()}`);
  if ("z" in f) out.push("brought it to the front");
  return out.join(", ") || "your edit";
}

// Note ids from bottom to top: by z, ties by id (the same order on every screen).
export function stackOrder(items) {
  return [...items.values()].sort((a, b) => a.z - b.z || cmpId(a.id, b.id)).map((i) => i.id);
}

function cmpId(a, b) {
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === "number" ? -1 : 1;  // temporary (string) ids above the saved ones
}

// The z that puts note id on top of all others, or null when it is on top already.
export function frontZ(items, id) {
  const it = items.get(id);
  if (!it) return null;
  let max = -Infinity;
  let top = true;
  for (const o of items.values()) {
    if (o.id !== id && o.z >= it.z) top = false;
    max = Math.max(max, o.z);
  }
  return top ? null : Math.min(max + 1, MAX_Z);
}

// What a live event does to the notes held: {op: "upsert", item, flash} | {op: "remove", id} |
// {op: "board", board} | {op: "role", role} | {op: "none"}. state: {boardId, board, me, items,
// tombs}; it is read, never changed (the caller records tombs).
export function eventAction(state, type, d) {
  if (!d) return { op: "none" };
  const actor = d.actor && d.actor.name;
  if (type === "item.created" || type === "item.updated") {
    const it = d.item;
    if (!it || it.board_id !== state.boardId) return { op: "none" };
    if ((state.tombs.get(it.id) || 0) >= it.version) return { op: "none" };
    const local = state.items.get(it.id);
    if (local && local.version >= it.version) return { op: "none" };  // our own change, or older
    return { op: "upsert", item: it, actor, flash: !!local && actor !== state.me.name };
  }
  if (type === "item.deleted") {
    const it = d.item;
    if (!it) return { op: "none" };
    return { op: "remove", id: it.id, version: it.version || 0, actor, held: state.items.has(it.id) };
  }
  if (type === "board.updated") {
    const b = d.board;
    return b && b.version > state.board.version ? { op: "board", board: b } : { op: "none" };
  }
  if (type.startsWith("member.")) {
    const m = d.member;
    const b = state.board;
    if (!m || m.user_id !== state.me.id || m.team_id !== b.team_id || b.role === "owner") return { op: "none" };
    return m.role && m.role !== b.role ? { op: "role", role: m.role } : { op: "none" };
  }
  return { op: "none" };
}

// A board reply's items merged with the map held: {items, removed} (the saved ids no longer
// there; an unchanged item keeps its object; temporary notes, ids "tmp-…", are kept).
export function mergeItems(items, list) {
  const next = new Map();
  for (const it of list) {
    const old = items.get(it.id);
    next.set(it.id, old && old.version === it.version ? old : it);
  }
  const removed = [];
  for (const [id, it] of items) {
    if (typeof id !== "number") next.set(id, it);  // a temporary note not saved yet stays
    else if (!next.has(id)) removed.push(id);
  }
  return { items: next, removed };
}

// The pan that shows the notes' top-left corner when the board opens (w, h: the canvas size).
export function initialPan(items, w, h) {
  const pan = { x: 0, y: 0 };
  if (!items.size) return pan;
  let minX = Infinity;
  let minY = Infinity;
  for (const it of items.values()) { minX = Math.min(minX, it.x); minY = Math.min(minY, it.y); }
  if (minX < 0 || minX > w - 80) pan.x = 24 - minX;
  if (minY < 0 || minY > h - 60) pan.y = 24 - minY;
  return pan;
}
