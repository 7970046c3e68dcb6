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
  // actor: how the one who made the change is shown (display name); mine: it was this user.
  const actor = d.actor && (d.actor.display_name || d.actor.name);
  const mine = !!d.actor && d.actor.name === state.me.name;
  if (type === "item.created" || type === "item.updated") {
    const it = d.item;
    if (!it || it.board_id !== state.boardId) return { op: "none" };
    if ((state.tombs.get(it.id) || 0) >= it.version) return { op: "none" };
    const local = state.items.get(it.id);
    if (local && local.version >= it.version) return { op: "none" };  // our own change, or older
    return { op: "upsert", item: it, actor, mine, flash: !!local && !mine };
  }
  if (type === "item.deleted") {
    const it = d.item;
    if (!it) return { op: "none" };
    return { op: "remove", id: it.id, version: it.version || 0, actor, mine, held: state.items.has(it.id) };
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

// ---- the view: pan (screen pixels) and zoom over board coordinates
export const ZOOM_MIN = 0.1;
export const ZOOM_MAX = 2.5;

// The rectangle {x, y, w, h} around the items (null when there are none).
export function boundsOf(items) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const it of items) {
    x0 = Math.min(x0, it.x);
    y0 = Math.min(y0, it.y);
    x1 = Math.max(x1, it.x + it.width);
    y1 = Math.max(y1, it.y + it.height);
  }
  return x0 === Infinity ? null : { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

// The view {pan, zoom} showing rectangle b whole in a w x h canvas (at most 100 %), centred.
export function fitView(b, w, h, pad = 32) {
  if (!b) return { pan: { x: 0, y: 0 }, zoom: 1 };
  const zoom = Math.max(ZOOM_MIN, Math.min(1, (w - 2 * pad) / (b.w || 1), (h - 2 * pad) / (b.h || 1)));
  return { zoom, pan: { x: w / 2 - (b.x + b.w / 2) * zoom, y: h / 2 - (b.y + b.h / 2) * zoom } };
}

// The view zoomed to z (bounded) keeping the board point under canvas point (cx, cy) in place.
export function zoomAbout(view, z, cx, cy) {
  const zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, z));
  const k = zoom / view.zoom;
  return { zoom, pan: { x: cx - (cx - view.pan.x) * k, y: cy - (cy - view.pan.y) * k } };
}

// Where a new w x h note goes (its top-left corner): the free place nearest to board point
// (cx, cy) (its centre) that lies inside the view {x, y, w, h} when there is one, searched on a
// 24 px grid in rings around that point; else the nearest free place on a spiral of note-sized
// steps; else the centre. "Free" means no other note within 16 px, so new notes never land on
// top of others.
export function freeSpot(items, cx, cy, w = NOTE_W, h = NOTE_H, view = null) {
  const gap = 16;
  const list = [...items];
  const free = (x, y) => list.every((o) => x + w + gap <= o.x || o.x + o.width + gap <= x || y + h + gap <= o.y || o.y + o.height + gap <= y);
  const x0 = Math.round(cx - w / 2);
  const y0 = Math.round(cy - h / 2);
  if (free(x0, y0) && (!view || inside(view, x0, y0, w, h))) return { x: x0, y: y0 };
  if (view) {
    const p = nearestFree(free, x0, y0, 24, Math.ceil(Math.max(view.w, view.h) / 24), (x, y) => inside(view, x, y, w, h));
    if (p) return p;
  }
  return nearestFree(free, x0, y0, w + gap, 12, null, h + gap) || { x: x0, y: y0 };
}

function inside(v, x, y, w, h) {
  return x >= v.x + 8 && y >= v.y + 8 && x + w <= v.x + v.w - 8 && y + h <= v.y + v.h - 8;
}

// The free point nearest to (x0, y0) on a grid of sx x sy steps, ring by ring (ok: a filter).
function nearestFree(free, x0, y0, sx, rings, ok, sy = sx) {
  for (let r = 1; r <= rings; r++) {
    let best = null;
    for (let i = -r; i <= r; i++) {
      for (const [dx, dy] of [[i, -r], [i, r], [-r, i], [r, i]]) {
        const x = x0 + dx * sx;
        const y = y0 + dy * sy;
        const d = Math.hypot(dx * sx, dy * sy);
        if ((!best || d < best.d) && (!ok || ok(x, y)) && free(x, y)) best = { x, y, d };
      }
    }
    if (best) return { x: best.x, y: best.y };
  }
  return null;
}

// The note nearest to `from` in direction dir ("left"|"right"|"up"|"down"), by centres: among
// the notes whose centre lies in that half-plane, the one with the smallest distance where the
// sideways offset counts double. null when there is none.
export function nearestInDirection(items, from, dir) {
  const c = (it) => ({ x: it.x + it.width / 2, y: it.y + it.height / 2 });
  const o = c(from);
  const axis = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] }[dir];
  if (!axis) return null;
  let best = null;
  for (const it of items) {
    if (it.id === from.id) continue;
    const p = c(it);
    const along = (p.x - o.x) * axis[0] + (p.y - o.y) * axis[1];
    if (along <= 0) continue;
    const side = Math.abs((p.x - o.x) * axis[1] + (p.y - o.y) * axis[0]);
    const score = along + 2 * side;
    if (!best || score < best.score) best = { it, score };
  }
  return best ? best.it : null;
}
