// Export and import of boards from the boards list (docs/api.md, "GET /boards/:id/export" and
// "POST /boards/import"; the format: docs/export-format.md). Export saves the server's JSON
// document or its CSV of the notes as a file, or a picture of the board (SVG) drawn here from its
// notes; Import sends a chosen export file as it is (the browser streams the file, nothing parses
// it here) and opens the new board.
import { API_BASE, ApiError, api } from "../api.js";
import { describeError } from "../errors.js";
import { h, icon, toast } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";

// Offers blob as a download named name.
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// An error reply as an ApiError (its sentence for people).
async function failure(resp) {
  let err = {};
  try { err = (await resp.json()).error || {}; } catch (_) { /* not JSON */ }
  return new ApiError(resp.status, err.code || "http_" + resp.status, err.message);
}

async function download(b, accept, ext) {
  const resp = await fetch(`${API_BASE}/boards/${b.id}/export`,
    { headers: { Accept: accept }, credentials: "same-origin", cache: "no-store" });
  if (!resp.ok) throw await failure(resp);
  save(await resp.blob(), `board-${b.id}.${ext}`);
}

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// The board's notes as an SVG picture: each note a rectangle of its color at its place, in
// drawing order (z), with its text in lines cut to the note's width.
export function boardPicture(board) {
  const items = board.items || [];
  const pad = 20;
  const minX = Math.min(0, ...items.map((i) => i.x)) - pad, minY = Math.min(0, ...items.map((i) => i.y)) - pad;
  const maxX = Math.max(400, ...items.map((i) => i.x + i.width)) + pad;
  const maxY = Math.max(300, ...items.map((i) => i.y + i.height)) + pad;
  const svg = el("svg", { xmlns: SVG, viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`,
    width: maxX - minX, height: maxY - minY, "font-family": "sans-serif", "font-size": 14 });
  svg.append(el("title", {}, board.title));
  svg.append(el("rect", { x: minX, y: minY, width: maxX - minX, height: maxY - minY, fill: "#f4f5f7" }));
  for (const i of items) {
    const g = el("g", {});
    g.append(el("rect", { x: i.x, y: i.y, width: i.width, height: i.height, rx: 4, fill: i.color, stroke: "#00000022" }));
    const perLine = Math.max(1, Math.floor((i.width - 16) / 8));
    const lines = [];
    for (const para of String(i.text).split("\n")) {
      for (let k = 0; k < para.length || k === 0; k += perLine) lines.push(para.slice(k, k + perLine));
    }
    const fit = Math.max(0, Math.floor((i.height - 12) / 18));
    lines.slice(0, fit).forEach((line, n) => g.append(el("text", { x: i.x + 8, y: i.y + 22 + n * 18, fill: "#222" }, line)));
    svg.append(g);
  }
  return svg;
}

async function picture(b) {
  const board = await api.board(b.id);
  const text = new XMLSerializer().serializeToString(boardPicture(board));
  save(new Blob([text], { type: "image/svg+xml" }), `board-${b.id}.svg`);
}

// The "Export" menu of a board card: JSON (the whole board and its history), CSV, picture.
export function exportMenu(b) {
  const run = (fn) => async () => {
    menu.open = false;
    try { await fn(); } catch (ex) { toast(ex.message, "error"); }
  };
  const item = (testid, label, fn) => h("button", { type: "button", class: "btn btn-ghost btn-sm", role: "menuitem", "data-testid": testid, onclick: run(fn) }, label);
  const menu = h("details", { class: "export-menu", "data-testid": "board-export" },
    h("summary", { class: "btn btn-ghost btn-sm", "aria-label": `Export ${b.title}` }, h("span", { class: "hide-narrow" }, "Export")),
    h("div", { class: "export-menu-items card", role: "menu" },
      item("export-json", "Board and history (JSON)", () => download(b, "application/json", "json")),
      item("export-csv", "Notes (CSV)", () => download(b, "text/csv", "csv")),
      item("export-svg", "Picture (SVG)", () => picture(b))));
  return menu;
}

// Sends file (an export document) as the body of POST /boards/import, into team teamId or the
// caller's own; resolves with the new board.
export async function importFile(file, teamId = null) {
  const resp = await fetch(`${API_BASE}/boards/import${teamId ? `?team_id=${teamId}` : ""}`, {
    method: "POST", body: file, credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
  });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

// The "Import board" button of the boards list: choose a file, make the board, open it.
export function importButton() {
  const input = h("input", { type: "file", accept: ".json,application/json", hidden: true, "data-testid": "import-file" });
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    try {
      const b = await importFile(file);
      toast(`Imported “${b.title}”: ${b.imported.notes} notes, ${b.imported.events} changes of history.`);
      location.hash = `#/boards/${b.id}`;
    } catch (ex) {
      toast(ex instanceof ApiError ? ex.message : describeError("network", String(ex), 0), "error", 10000);
    }
  });
  return h("span", null, input,
    h("button", { type: "button", class: "btn btn-ghost btn-sm page-head-link", "data-testid": "import-board", onclick: () => input.click() },
      icon("plus"), "Import board"));
}
