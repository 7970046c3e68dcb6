// Zoom and overview: the view is a pan (screen pixels) and a zoom factor over board coordinates,
// which never change with them (a note at x=300 is at x=300 for everyone at any zoom). Ctrl/⌘ +
// wheel and a two-finger pinch zoom about the pointer; + / - / 0 keys and the buttons zoom about
// the centre; "Fit" shows every note; the minimap shows the notes and the view, and a click or
// drag on it moves the view there. install(B) adds applyPan, toBoard, zoomAt, zoomBy, zoomTo,
// zoomFit, centreOn, viewRect, revealNote, showPct, scheduleMinimap to the board context B
// (applyPan({gesture: true}) and zoomAt(..., {gesture: true}) for each step of a gesture).
import { h, icon } from "../ui.js";
import { boundsOf, fitView, zoomAbout, ZOOM_MIN, ZOOM_MAX } from "./state.js";

const MINI_W = 180;
const MINI_H = 120;
const FAR = 0.45;        // below this zoom notes are plain tiles (app.css: .zoom-far)
const SETTLE_MS = 150;   // the view is still this long: shadows and text come back

export function install(B) {
  Object.assign(B, { applyPan, toBoard, zoomAt, zoomBy, zoomTo, zoomFit, centreOn, viewRect, revealNote });
  B.zoom = 1;
  const { canvas, world } = B;
  let movingTimer = null;

  const pct = h("button", { type: "button", class: "zoom-pct", "data-testid": "zoom-reset", title: "Actual size (0)", "aria-label": "Zoom 100%" }, "100%");
  const btn = (label, title, testid, content, fn) => h("button", { type: "button", class: "zoom-btn", "aria-label": label, title, "data-testid": testid, onclick: fn }, content);
  B.zoomBar = h("div", { class: "zoom-bar", role: "group", "aria-label": "Zoom" },
    btn("Zoom out", "Zoom out (-)", "zoom-out", "−", () => zoomBy(1 / 1.25)),
    pct,
    btn("Zoom in", "Zoom in (+)", "zoom-in", icon("plus"), () => zoomBy(1.25)),
    btn("Zoom to fit", "Zoom to fit (Shift+1)", "zoom-fit", "Fit", () => zoomFit()));
  pct.addEventListener("click", () => zoomTo(1));
  const mini = h("canvas", { class: "minimap", width: MINI_W, height: MINI_H, "data-testid": "minimap", "aria-hidden": "true" });
  B.minimap = mini;
  B.root.append(B.zoomBar, mini);

  // Screen point (client coordinates) -> board coordinates.
  function toBoard(clientX, clientY) {
    const r = canvas.getBoundingClientRect();
    return { x: (clientX - r.left - B.pan.x) / B.zoom, y: (clientY - r.top - B.pan.y) / B.zoom };
  }

  // The board rectangle in view: {x, y, w, h} in board coordinates.
  function viewRect() {
    const r = canvas.getBoundingClientRect();
    return { x: -B.pan.x / B.zoom, y: -B.pan.y / B.zoom, w: r.width / B.zoom, h: r.height / B.zoom };
  }

  // Far out, notes are drawn plain (no shadow, no text: unreadable at that size anyway). The
  // switch costs a style and layout pass over every note, so during a zoom gesture (wheel,
  // pinch) only the switch to the cheaper look is made at once; the text comes back when the
  // view has been still for SETTLE_MS. Discrete zooms (keys, buttons, fit) switch at once.
  function setFar(far) {
    if (far === canvas.classList.contains("zoom-far")) return;
    canvas.classList.toggle("zoom-far", far);
    if (!far) drawDots();
  }
  function drawDots() {  // far out the dots are not drawn (app.css): no need to move them
    const g = 24 * B.zoom;
    canvas.style.backgroundPosition = `${B.pan.x}px ${B.pan.y}px`;
    canvas.style.backgroundSize = `${g}px ${g}px`;
  }
  function settle() {
    movingTimer = null;
    canvas.classList.remove("view-moving");
    setFar(B.zoom < FAR);
  }

  function applyPan({ gesture = false } = {}) {
    world.style.transform = `translate(${B.pan.x}px, ${B.pan.y}px) scale(${B.zoom})`;
    const far = B.zoom < FAR;
    if (far || !gesture) setFar(far);
    if (!canvas.classList.contains("zoom-far")) drawDots();
    canvas.dataset.zoom = String(Math.round(B.zoom * 1000) / 1000);
    // while the view moves, notes drop their shadows (cheaper frames); back SETTLE_MS after.
    // Far out they have none anyway: no class change, which would restyle every note.
    if (!canvas.classList.contains("zoom-far")) canvas.classList.add("view-moving");
    clearTimeout(movingTimer);
    movingTimer = setTimeout(settle, SETTLE_MS);
    // the label's new text costs a layout: during a gesture it follows with the minimap
    if (!gesture) showPct();
    if (B.onView) B.onView();
    B.scheduleMinimap();
  }

  function showPct() {
    const p = `${Math.round(B.zoom * 100)}%`;
    if (pct.textContent !== p) {
      pct.textContent = p;
      pct.setAttribute("aria-label", `Zoom ${p}, reset to 100%`);
    }
  }
  B.showPct = showPct;

  // Zoom to z keeping the board point under client (cx, cy) where it is.
  function zoomAt(z, cx, cy, { gesture = false } = {}) {
    const r = canvas.getBoundingClientRect();
    const v = zoomAbout({ pan: B.pan, zoom: B.zoom }, z, cx - r.left, cy - r.top);
    B.pan = v.pan;
    B.zoom = v.zoom;
    applyPan({ gesture });
  }
  function zoomBy(f) {
    const r = canvas.getBoundingClientRect();
    zoomAt(B.zoom * f, r.left + r.width / 2, r.top + r.height / 2);
  }
  function zoomTo(z) {
    const r = canvas.getBoundingClientRect();
    zoomAt(z, r.left + r.width / 2, r.top + r.height / 2);
  }
  function zoomFit() {
    const r = canvas.getBoundingClientRect();
    const v = fitView(boundsOf(B.items.values()), r.width, r.height);
    B.pan = v.pan;
    B.zoom = v.zoom;
    applyPan();
  }
  // Centre the view on board point (x, y).
  function centreOn(x, y) {
    const r = canvas.getBoundingClientRect();
    B.pan = { x: r.width / 2 - x * B.zoom, y: r.height / 2 - y * B.zoom };
    applyPan();
  }

  // Pans the least that shows the whole note (a focused note is always in view).
  function revealNote(id) {
    const el = B.els.get(id);
    if (!el) return;
    const m = 16;
    const c = canvas.getBoundingClientRect();
    const n = el.getBoundingClientRect();
    let dx = 0;
    let dy = 0;
    if (n.width + 2 * m > c.width) dx = c.left + m - n.left;
    else if (n.left < c.left + m) dx = c.left + m - n.left;
    else if (n.right > c.right - m) dx = c.right - m - n.right;
    if (n.height + 2 * m > c.height) dy = c.top + m - n.top;
    else if (n.top < c.top + m) dy = c.top + m - n.top;
    else if (n.bottom > c.bottom - m) dy = c.bottom - m - n.bottom;
    if (!dx && !dy) return;
    B.pan.x += dx;
    B.pan.y += dy;
    applyPan();
  }

  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      zoomAt(B.zoom * Math.exp(-e.deltaY * 0.01), e.clientX, e.clientY, { gesture: true });
    } else {
      B.pan.x -= e.deltaX;
      B.pan.y -= e.deltaY;
      applyPan();
    }
  }, { passive: false });

  installPinch(B);
  installMinimap(B, mini);
}

// Two pointers on the canvas (on a note too): pinch zooms about their middle and pans with it.
// B.pinching is true meanwhile; a drag or pan under way stops following its pointer.
function installPinch(B) {
  const pts = new Map();
  let start = null;
  const mid = () => {
    const [a, b] = [...pts.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, d: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
  };
  B.canvas.addEventListener("pointerdown", (e) => {
    if (e.pointerType === "mouse") return;
    pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pts.size === 2) {
      B.pinching = true;
      const m = mid();
      start = { ...m, zoom: B.zoom, pan: { ...B.pan } };
      B.cancelGestures();
    }
  }, { capture: true });
  const move = (e) => {
    if (!pts.has(e.pointerId)) return;
    pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (!B.pinching || pts.size < 2 || !start) return;
    const m = mid();
    const r = B.canvas.getBoundingClientRect();
    // the board point under the first midpoint stays under the fingers' midpoint
    const bx = (start.x - r.left - start.pan.x) / start.zoom;
    const by = (start.y - r.top - start.pan.y) / start.zoom;
    const z = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, start.zoom * (m.d / start.d)));
    B.zoom = z;
    B.pan = { x: m.x - r.left - bx * z, y: m.y - r.top - by * z };
    B.applyPan({ gesture: true });
  };
  const up = (e) => {
    if (!pts.delete(e.pointerId)) return;
    if (pts.size < 2) start = null;
    if (pts.size === 0) B.pinching = false;
  };
  window.addEventListener("pointermove", move, { capture: true });
  window.addEventListener("pointerup", up, { capture: true });
  window.addEventListener("pointercancel", up, { capture: true });
  B.stopPinch = () => {
    window.removeEventListener("pointermove", move, { capture: true });
    window.removeEventListener("pointerup", up, { capture: true });
    window.removeEventListener("pointercancel", up, { capture: true });
  };
}

// The minimap (and the zoom label): the notes and the view, drawn at most once a frame, and
// while the view keeps moving (a pan or zoom gesture) at most once every MINI_EVERY_MS (a
// 1,000-note redraw every frame costs the gesture frames); the last change is always drawn.
const MINI_EVERY_MS = 100;
function installMinimap(B, mini) {
  const ctx = mini.getContext("2d");
  let queued = false;
  let last = -Infinity;
  let frame = null;  // {x, y, s}: board -> minimap
  B.scheduleMinimap = () => {
    if (queued) return;
    queued = true;
    const wait = last + MINI_EVERY_MS - performance.now();
    const run = () => requestAnimationFrame(() => { queued = false; last = performance.now(); draw(); });
    if (wait > 0) setTimeout(run, wait); else run();
  };
  function draw() {
    B.showPct();
    const v = B.viewRect();
    const b = boundsOf(B.items.values()) || { x: v.x, y: v.y, w: v.w, h: v.h };
    const x0 = Math.min(b.x, v.x);
    const y0 = Math.min(b.y, v.y);
    const x1 = Math.max(b.x + b.w, v.x + v.w);
    const y1 = Math.max(b.y + b.h, v.y + v.h);
    const s = Math.min((MINI_W - 8) / (x1 - x0 || 1), (MINI_H - 8) / (y1 - y0 || 1));
    frame = { x: x0 - 4 / s, y: y0 - 4 / s, s };
    ctx.clearRect(0, 0, MINI_W, MINI_H);
    for (const it of B.items.values()) {
      ctx.fillStyle = it.color || "#fff59d";
      ctx.fillRect((it.x - frame.x) * s, (it.y - frame.y) * s, Math.max(1.5, it.width * s), Math.max(1.5, it.height * s));
    }
    ctx.strokeStyle = "#3f51b5";
    ctx.lineWidth = 1.5;
    ctx.strokeRect((v.x - frame.x) * s, (v.y - frame.y) * s, v.w * s, v.h * s);
  }
  const go = (e) => {
    if (!frame) return;
    const r = mini.getBoundingClientRect();
    B.centreOn(frame.x + (e.clientX - r.left) / frame.s, frame.y + (e.clientY - r.top) / frame.s);
  };
  mini.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    mini.setPointerCapture(e.pointerId);
    // a redraw still waiting (the view changed in the last MINI_EVERY_MS): the click goes by
    // the minimap as it is about to look, not by the frame of a view that is gone
    if (queued) draw();
    go(e);
    const f = frame;  // keep the scale while dragging, else the view chases itself
    const move = (ev) => { frame = f; go(ev); };
    const up = () => {
      mini.removeEventListener("pointermove", move);
      mini.removeEventListener("pointerup", up);
      mini.removeEventListener("pointercancel", up);
      B.scheduleMinimap();
    };
    mini.addEventListener("pointermove", move);
    mini.addEventListener("pointerup", up);
    mini.addEventListener("pointercancel", up);
  });
}
