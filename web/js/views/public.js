// The public page of a board (#/public/<token>, docs/api.md "Public links"): the board and its
// notes, read-only, for anyone with the link, kept live by the board's public event stream, with a
// prompt to sign in. A guest has no session, so the page holds its own EventSource rather than the
// shared feed (live.js), and applies the notes' events through state.js's eventAction as the board
// does. When the link or the board is deleted the stream says "revoked": the page says so, keeps
// what it shows, and stops.
import { API_BASE, api } from "../api.js";
import { h } from "../ui.js";
import { eventAction, initialPan, isDark, noteLabel, stackOrder } from "../board/state.js";

const TOKEN = /^[0-9a-f]{64}$/;

export async function renderPublic({ view, setCleanup }, token) {
  const P = { items: new Map(), tombs: new Map(), els: new Map(), source: null, gone: false };
  setCleanup(() => { P.gone = true; if (P.source) P.source.close(); document.title = "Teamboard"; });
  const status = h("p", { class: "notice notice-warn", role: "alert", "data-testid": "public-status", hidden: true });
  if (!TOKEN.test(token || "")) return view.append(status), stop(P, status, "This isn't a valid link. Check that you copied all of it.");
  let board;
  try {
    board = await loadPublic(token);
  } catch (e) {
    view.append(status);
    return stop(P, status, e.status === 404 ? "This link no longer works: it was deleted, or the board was." : e.message);
  }
  if (P.gone) return;
  P.board = board;
  P.title = h("h1", { class: "board-title", "data-testid": "board-title", tabindex: "-1" }, board.title);
  P.presence = h("span", { class: "muted", "data-testid": "public-presence", role: "status" });
  P.world = h("div", { class: "world" });
  const canvas = h("div", { class: "canvas", "data-testid": "canvas", role: "region", "aria-label": "Board (read-only)" }, P.world);
  const prompt = h("div", { class: "readonly-banner", "data-testid": "public-banner", role: "note" },
    "You are watching this board live, read-only. ", h("a", { href: "#/signin", "data-testid": "public-signin" }, "Sign in"),
    " or ", h("a", { href: "#/signup" }, "create an account"), " to make boards of your own.");
  view.classList.add("view-board");
  view.append(h("section", { class: "board-view readonly", "data-board-id": board.id, "data-testid": "public-board" },
    h("div", { class: "board-bar" }, h("div", { class: "board-title-wrap" }, P.title), h("div", { class: "board-bar-right" }, P.presence)),
    prompt, status, canvas));
  document.title = `${board.title} · Teamboard`;
  for (const it of board.items) P.items.set(it.id, it);
  const r = canvas.getBoundingClientRect();
  const pan = initialPan(P.items, r.width, r.height);
  P.world.style.transform = `translate(${pan.x}px, ${pan.y}px)`;
  renderAll(P);
  follow(P, token, board.last_event_id, status);
}

// The board with every page of its notes (as api.js's loadBoard).
async function loadPublic(token) {
  const path = `/public/boards/${token}`;
  const board = await api.publicBoard(path);
  for (let page = board, n = 0; page.items_more && n < 100000; n++) {
    page = await api.publicBoard(`${path}?items_after=${encodeURIComponent(page.items_next)}`);
    board.items.push(...page.items);
  }
  return board;
}

function stop(P, status, message) {
  P.gone = true;
  if (P.source) P.source.close();
  status.textContent = message;
  status.hidden = false;
}

function follow(P, token, since, status) {
  const url = `${API_BASE}/public/boards/${token}/events?last_event_id=${since}`;
  const es = new EventSource(url);
  P.source = es;
  const on = (type, fn) => es.addEventListener(type, (e) => { if (!P.gone) fn(e.data ? JSON.parse(e.data) : {}); });
  on("hello", (d) => showPresence(P, d));
  on("presence", (d) => showPresence(P, d));
  for (const type of ["item.created", "item.updated", "item.deleted"]) on(type, (d) => applyItem(P, type, d));
  on("board.updated", (d) => { P.title.textContent = d.board.title; document.title = `${d.board.title} · Teamboard`; });
  on("revoked", () => stop(P, status, "This link no longer works: it was deleted, or the board was. Ask for a new one."));
  on("reset", () => { es.close(); location.reload(); });
}

function showPresence(P, d) {
  const people = Array.isArray(d.viewers) ? d.viewers.length : 0;
  const guests = Number(d.guests) || 0;
  P.presence.textContent = `${people} ${people === 1 ? "member" : "members"} and ${guests} ${guests === 1 ? "guest" : "guests"} watching`;
}

function applyItem(P, type, d) {
  const state = { boardId: P.board.id, board: P.board, me: { id: 0, name: null }, items: P.items, tombs: P.tombs };
  const a = eventAction(state, type, d);
  if (a.op === "upsert") P.items.set(a.item.id, a.item);
  else if (a.op === "remove") { P.tombs.set(a.id, Math.max(P.tombs.get(a.id) || 0, a.version)); P.items.delete(a.id); }
  if (a.op !== "none") renderAll(P);
}

function renderAll(P) {
  for (const [id, el] of P.els) if (!P.items.has(id)) { el.remove(); P.els.delete(id); }
  const rank = new Map(stackOrder(P.items).map((id, i) => [id, i + 1]));
  for (const it of P.items.values()) {
    let el = P.els.get(it.id);
    if (!el) {
      el = h("article", { class: "note note-readonly", "data-testid": "note", "data-id": it.id, tabindex: "0" },
        h("div", { class: "note-body" }, h("div", { class: "note-text", "data-testid": "note-text" })));
      P.els.set(it.id, el);
      P.world.append(el);
    }
    Object.assign(el.style, { left: `${it.x}px`, top: `${it.y}px`, width: `${it.width}px`, height: `${it.height}px` });
    el.style.zIndex = String(rank.get(it.id));
    el.style.setProperty("--note", it.color);
    el.classList.toggle("note-dark", isDark(it.color));
    el.querySelector(".note-text").textContent = it.text;
    el.setAttribute("aria-label", noteLabel(it));
  }
}
