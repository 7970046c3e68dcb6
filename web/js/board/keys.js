// The keyboard on the board: on a note Enter/F2 edits, arrows nudge (one save after a pause),
// Delete removes, F brings to front, C opens the palette, Escape returns to the canvas; on the
// canvas arrows pan and N adds a note; + - 0 ! zoom (anywhere on the board). install(B) adds onNoteKey and flushKeyMove to the board
// context B and listens on B.canvas.
import { clamp, LIMIT } from "./state.js";

const KEY_STEP = 10;
const KEY_STEP_BIG = 50;
const KEY_COMMIT_MS = 600;
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const plain = (e) => !e.ctrlKey && !e.metaKey && !e.altKey;

export function install(B) {
  Object.assign(B, { onNoteKey, flushKeyMove });

  function onNoteKey(e, id) {
    if (e.target !== B.els.get(id)) return;  // keys inside the toolbar / editor are theirs
    const it = B.items.get(id);
    if (!it) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (k === "Enter" || k === "F2") {
      e.preventDefault();
      B.startEdit(id);
    } else if (ARROWS[k] && B.canEdit()) {
      e.preventDefault();
      nudge(id, it, ARROWS[k], e.shiftKey ? KEY_STEP_BIG : KEY_STEP);
    } else if ((k === "Delete" || k === "Backspace") && B.canEdit()) {
      e.preventDefault();
      B.deleteNote(id);
    } else if (k === "f" && !e.ctrlKey && !e.metaKey && B.canEdit()) {
      e.preventDefault();
      B.bringToFront(id);
    } else if (k === "c" && !e.ctrlKey && !e.metaKey && B.canEdit()) {
      e.preventDefault();
      B.openPalette(id);
    } else if (k === "Escape") {
      B.canvas.focus();
    }
  }

  function nudge(id, it, [dx, dy], step) {
    let km = B.keyMoves.get(id);
    if (!km) {
      km = { base: { ...it }, x: it.x, y: it.y, timer: null };
      B.keyMoves.set(id, km);
    }
    km.x = clamp(km.x + dx * step, -LIMIT, LIMIT);
    km.y = clamp(km.y + dy * step, -LIMIT, LIMIT);
    const el = B.els.get(id);
    el.style.left = km.x + "px";
    el.style.top = km.y + "px";
    clearTimeout(km.timer);
    km.timer = setTimeout(() => flushKeyMove(id), KEY_COMMIT_MS);
  }

  function flushKeyMove(id) {
    const km = B.keyMoves.get(id);
    if (!km) return;
    clearTimeout(km.timer);
    B.keyMoves.delete(id);
    if (km.x !== km.base.x || km.y !== km.base.y) B.commit(id, { x: km.x, y: km.y }, km.base);
  }

  // Zoom keys anywhere on the board but in a text field: + / = in, - out, 0 actual size,
  // Shift+1 (!) zoom to fit.
  const ZOOM_KEYS = { "+": () => B.zoomBy(1.25), "=": () => B.zoomBy(1.25), "-": () => B.zoomBy(1 / 1.25), "0": () => B.zoomTo(1), "!": () => B.zoomFit() };
  B.root.addEventListener("keydown", (e) => {
    if (B.editing || e.ctrlKey || e.metaKey || e.altKey || !ZOOM_KEYS[e.key]) return;
    if (e.target.closest("input, textarea, select, dialog, .note-palette")) return;
    e.preventDefault();
    ZOOM_KEYS[e.key]();
  });

  B.canvas.addEventListener("keydown", (e) => {
    if (e.target !== B.canvas || B.editing) return;  // no single-key shortcuts while typing
    const step = e.shiftKey ? 200 : 60;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) {
      e.preventDefault();
      B.pan.x += moves[e.key][0];
      B.pan.y += moves[e.key][1];
      B.applyPan();
    } else if ((e.key === "n" || e.key === "N") && plain(e)) {
      e.preventDefault();
      B.createNoteAtCenter();
    }
  });
}
