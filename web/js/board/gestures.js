// Pointer gestures on the board (mouse, pen and touch alike): drag a note to move it, drag its
// handle to resize it, drag empty space or scroll to pan, double-click empty space to add a
// note. install(B) adds onNotePointerDown, onResizePointerDown and applyPan to the board
// context B and listens on B.canvas.
import { clamp, LIMIT, MIN_W, MIN_H, MAX_WH } from "./state.js";

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
  Object.assign(B, { onNotePointerDown, onResizePointerDown, applyPan });
  const { canvas, world } = B;

  function onNotePointerDown(e, id) {
    if (e.target.closest(".note-tools, .note-resize, .note-conflict, textarea")) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const el = B.els.get(id);
    const it = B.items.get(id);
    if (!el || !it) return;
    e.stopPropagation();
    if (!B.canEdit()) return;
    e.preventDefault();  // no text selection; focus is set on release
    el.setPointerCapture(e.pointerId);
    const d = { id, el, sx: e.clientX, sy: e.clientY, base: { ...it }, moved: false, x: it.x, y: it.y };
    track(el, e.pointerId, (ev) => {
      const dx = ev.clientX - d.sx;
      const dy = ev.clientY - d.sy;
      if (!d.moved && Math.hypot(dx, dy) < 4) return;
      if (!d.moved) {
        d.moved = true;
        B.dragging = d;
        el.classList.add("note-dragging");
      }
      d.x = clamp(d.base.x + dx, -LIMIT, LIMIT);
      d.y = clamp(d.base.y + dy, -LIMIT, LIMIT);
      el.style.left = d.x + "px";
      el.style.top = d.y + "px";
    }, (ev) => {
      el.classList.remove("note-dragging");
      if (B.dragging === d) B.dragging = null;
      el.focus({ preventScroll: true });
      if (d.moved && ev.type === "pointerup" && (d.x !== d.base.x || d.y !== d.base.y)) {
        B.commit(id, { x: d.x, y: d.y }, d.base);
      } else {
        B.renderNote(id);
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
      d.w = clamp(d.base.width + ev.clientX - d.sx, MIN_W, MAX_WH);
      d.hh = clamp(d.base.height + ev.clientY - d.sy, MIN_H, MAX_WH);
      el.style.width = d.w + "px";
      el.style.height = d.hh + "px";
    }, (ev) => {
      el.classList.remove("note-resizing");
      if (B.dragging === d) B.dragging = null;
      el.focus({ preventScroll: true });
      if (d.moved && ev.type === "pointerup" && (d.w !== d.base.width || d.hh !== d.base.height)) {
        B.commit(id, { width: d.w, height: d.hh }, d.base);
      } else {
        B.renderNote(id);
      }
    });
  }

  canvas.addEventListener("pointerdown", (e) => {
    if (e.target !== canvas && e.target !== world) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const start = { x: e.clientX, y: e.clientY, px: B.pan.x, py: B.pan.y };
    canvas.setPointerCapture(e.pointerId);
    canvas.classList.add("panning");
    track(canvas, e.pointerId, (ev) => {
      B.pan.x = start.px + ev.clientX - start.x;
      B.pan.y = start.py + ev.clientY - start.y;
      applyPan();
    }, () => canvas.classList.remove("panning"));
  });
  canvas.addEventListener("dblclick", (e) => {
    if (e.target !== canvas && e.target !== world) return;
    const r = canvas.getBoundingClientRect();
    B.createNote(e.clientX - r.left - B.pan.x - 100, e.clientY - r.top - B.pan.y - 75);
  });
  canvas.addEventListener("wheel", (e) => {
    if (e.ctrlKey) return;
    e.preventDefault();
    B.pan.x -= e.deltaX;
    B.pan.y -= e.deltaY;
    applyPan();
  }, { passive: false });
  // Focusing a note off-screen (Tab) makes the browser scroll the canvas to show it: turn that
  // scroll into pan, so that positions on the canvas keep one meaning.
  canvas.addEventListener("scroll", () => {
    if (!canvas.scrollLeft && !canvas.scrollTop) return;
    B.pan.x -= canvas.scrollLeft;
    B.pan.y -= canvas.scrollTop;
    canvas.scrollLeft = 0;
    canvas.scrollTop = 0;
    applyPan();
  });

  function applyPan() {
    world.style.transform = `translate(${B.pan.x}px, ${B.pan.y}px)`;
    canvas.style.backgroundPosition = `${B.pan.x}px ${B.pan.y}px`;
  }
}
