// Pointer gestures on the board (mouse, pen and touch alike): drag a note to move it (the view
// pans by itself while the pointer is near an edge), drag its handle to resize it, drag empty
// space to pan, double-click empty space to add a note. Distances on screen are divided by the
// zoom (zoom.js): board coordinates stay what they are. A pinch (zoom.js) cancels a one-finger
// gesture under way (B.cancelGestures). install(B) adds onNotePointerDown, onResizePointerDown
// and cancelGestures to the board context B and listens on B.canvas.
import { clamp, LIMIT, MIN_W, MIN_H, MAX_WH } from "./state.js";

const EDGE = 48;        // px from the canvas edge where dragging pans the view
const EDGE_SPEED = 900; // px per second at the very edge (time-based: slow frames pan as far)

// Calls move on each pointermove of pointerId on target, end once on pointerup/cancel.
function track(target, pointerId, move, end) {
  const onMove = (ev) => { if (ev.pointerId === pointerId) move(ev); };
  const onUp = (ev) => {
    if (ev.pointerId !== pointerId) return;
    target.removeEventListener("pointermove", onMove);
    target.removeEventListener("pointerup", onUp);
    target.removeEventListener("pointercancel", onUp);
    end(ev);
  };
  target.addEventListener("pointermove", onMove);
  target.addEventListener("pointerup", onUp);
  target.addEventListener("pointercancel", onUp);
}

export function install(B) {
  Object.assign(B, { onNotePointerDown, onResizePointerDown, cancelGestures });
  const { canvas } = B;
  const active = new Set();  // cancel functions of the gestures under way

  function cancelGestures() {
    for (const c of [...active]) c();
    active.clear();
  }

  // How fast the view should pan for a pointer at (x, y): {x, y} px per frame (0 inside).
  function edgePush(x, y) {
    const r = canvas.getBoundingClientRect();
    const f = (d) => (d < EDGE ? EDGE_SPEED * (1 - Math.max(0, d) / EDGE) : 0);
    return { x: f(x - r.left) - f(r.right - x), y: f(y - r.top) - f(r.bottom - y) };
  }

  function onNotePointerDown(e, id) {
    if (B.pinching) { e.stopPropagation(); return; }
    if (e.target.closest(".note-resize, .note-conflict, .note-draft, textarea")) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const el = B.els.get(id);
    const it = B.items.get(id);
    if (!el || !it) return;
    e.stopPropagation();
    if (!B.canEdit()) return;
    e.preventDefault();  // no text selection; focus is set on release
    el.setPointerCapture(e.pointerId);
    // Auto-pan is armed once the pointer has been away from the edges: where the drag started,
    // at a move, or in a frame. A note grabbed at the edge does not set the view moving at once;
    // a quick flick from the middle to the edge pans even if no frame saw it on its way.
    const awayFromEdges = (x, y) => { const v = edgePush(x, y); return !v.x && !v.y; };
    const d = { id, el, sx: e.clientX, sy: e.clientY, base: { ...it }, moved: false, x: it.x, y: it.y,
      pan0: { ...B.pan }, last: { x: e.clientX, y: e.clientY }, raf: 0, cancelled: false,
      armed: awayFromEdges(e.clientX, e.clientY) };
    // The pointer's way on screen, less the view's own moves (auto-pan), over the zoom: immune
    // to the page shifting under the pointer (a banner appearing above the board).
    const follow = () => {
      d.x = clamp(d.base.x + (d.last.x - d.sx - (B.pan.x - d.pan0.x)) / B.zoom, -LIMIT, LIMIT);
      d.y = clamp(d.base.y + (d.last.y - d.sy - (B.pan.y - d.pan0.y)) / B.zoom, -LIMIT, LIMIT);
      el.style.left = d.x + "px";
      el.style.top = d.y + "px";
    };
    const autoPan = (now) => {
      d.raf = 0;
      const v = edgePush(d.last.x, d.last.y);
      if (!v.x && !v.y) d.armed = true;
      if (d.cancelled || B.dragging !== d || !d.armed || (!v.x && !v.y)) { d.t = 0; return; }
      const dt = d.t ? Math.min(100, now - d.t) / 1000 : 1 / 60;
      d.t = now;
      B.pan.x += Math.round(v.x * dt);
      B.pan.y += Math.round(v.y * dt);
      B.applyPan();
      follow();
      d.raf = requestAnimationFrame(autoPan);
    };
    const cancel = () => {
      d.cancelled = true;
      cancelAnimationFrame(d.raf);
      el.classList.remove("note-dragging");
      if (B.dragging === d) B.dragging = null;
      B.renderNote(d.id);
    };
    active.add(cancel);
    track(el, e.pointerId, (ev) => {
      if (d.cancelled) return;
      d.last = { x: ev.clientX, y: ev.clientY };
      if (!d.armed && awayFromEdges(ev.clientX, ev.clientY)) d.armed = true;
      if (!d.moved && Math.hypot(ev.clientX - d.sx, ev.clientY - d.sy) < 4) return;
      if (!d.moved) {
        d.moved = true;
        B.dragging = d;
        el.classList.add("note-dragging");
      }
      follow();
      if (!d.raf) d.raf = requestAnimationFrame(autoPan);
    }, (ev) => {
      active.delete(cancel);
      cancelAnimationFrame(d.raf);
      if (d.cancelled) return;
      el.classList.remove("note-dragging");
      if (B.dragging === d) B.dragging = null;
      el.focus({ preventScroll: true });
      if (d.moved && ev.type === "pointerup" && (d.x !== d.base.x || d.y !== d.base.y)) {
        B.commit(d.id, { x: d.x, y: d.y }, d.base);
        B.renderNote(d.id);
      } else {
        B.renderNote(d.id);
      }
    });
  }

  function onResizePointerDown(e, id) {
    if (!B.canEdit()) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const el = B.els.get(id);
    const it = B.items.get(id);
    if (!el || !it) return;
    e.stopPropagation();
    e.preventDefault();
    const handle = e.currentTarget;
    handle.setPointerCapture(e.pointerId);
    const d = { id, el, sx: e.clientX, sy: e.clientY, base: { ...it }, w: it.width, hh: it.height, moved: false };
    B.dragging = d;
    el.classList.add("note-resizing");
    track(handle, e.pointerId, (ev) => {
      d.moved = true;
      if (B.pinching) return;
      d.w = clamp(d.base.width + (ev.clientX - d.sx) / B.zoom, MIN_W, MAX_WH);
      d.hh = clamp(d.base.height + (ev.clientY - d.sy) / B.zoom, MIN_H, MAX_WH);
      el.style.width = d.w + "px";
      el.style.height = d.hh + "px";
    }, (ev) => {
      el.classList.remove("note-resizing");
      if (B.dragging === d) B.dragging = null;
      el.focus({ preventScroll: true });
      if (d.moved && ev.type === "pointerup" && (d.w !== d.base.width || d.hh !== d.base.height)) {
        B.commit(d.id, { width: d.w, height: d.hh }, d.base);
        B.renderNote(d.id);
      } else {
        B.renderNote(id);
      }
    });
  }

  listenCanvas(B, active);
}

// Empty space: a drag pans, a double-click adds a note there, a browser scroll becomes pan.
function listenCanvas(B, active) {
  const { canvas, world } = B;
  canvas.addEventListener("pointerdown", (e) => {
    if (e.target !== canvas && e.target !== world) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    if (B.pinching) return;
    const start = { x: e.clientX, y: e.clientY, px: B.pan.x, py: B.pan.y };
    let cancelled = false;
    const cancel = () => { cancelled = true; canvas.classList.remove("panning"); };
    active.add(cancel);
    canvas.setPointerCapture(e.pointerId);
    canvas.classList.add("panning");
    track(canvas, e.pointerId, (ev) => {
      if (cancelled) return;
      B.pan.x = start.px + ev.clientX - start.x;
      B.pan.y = start.py + ev.clientY - start.y;
      B.applyPan();
    }, () => { active.delete(cancel); canvas.classList.remove("panning"); });
  });
  canvas.addEventListener("dblclick", (e) => {
    if (e.target !== canvas && e.target !== world) return;
    const p = B.toBoard(e.clientX, e.clientY);
    B.createNote(p.x - 100, p.y - 75);
  });
  // Focusing a note off-screen (Tab) makes the browser scroll the canvas to show it: turn that
  // scroll into pan, so that positions on the canvas keep one meaning.
  canvas.addEventListener("scroll", () => {
    if (!canvas.scrollLeft && !canvas.scrollTop) return;
    B.pan.x -= canvas.scrollLeft;
    B.pan.y -= canvas.scrollTop;
    canvas.scrollLeft = 0;
    canvas.scrollTop = 0;
    B.applyPan();
  });
}
