// Teamboard web client: session, hash router (#/boards, #/boards/12, #/teams, #/teams/3,
// #/signin, #/signup: static hosting needs no rewrite rules) and the page frame.
import { api, setUnauthorizedHandler } from "./api.js";
import { h, clear, icon, avatar, toast } from "./ui.js";
import { signOutAll } from "./live.js";
import { renderAuth } from "./views/auth.js";
import { renderBoards } from "./views/boards.js";
import { renderTeams, renderTeam } from "./views/teams.js";
import { renderBoard } from "./views/board.js";

export const session = { user: null };
let cleanup = null;        // the current view's teardown
let pendingNotice = null;  // a message to show on the next page (e.g. "removed from board")

const main = document.getElementById("main");
const header = document.getElementById("app-header");

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// A message shown at the top of the next page (survives one navigation).
export function notice(message, kind = "warn") {
  pendingNotice = { message, kind };
}

function takeNotice() {
  const n = pendingNotice;
  pendingNotice = null;
  if (!n) return null;
  return h("div", { class: `notice notice-${n.kind}`, role: "alert", "data-testid": "notice" }, n.message);
}

function renderHeader(active) {
  clear(header);
  const brand = h("a", { class: "brand", href: session.user ? "#/boards" : "#/signin" },
    h("span", { class: "brand-mark", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
    h("span", null, "Teamboard"));
  header.append(brand);
  if (!session.user) return;
  const nav = h("nav", { class: "nav", "aria-label": "Main" },
    h("a", { href: "#/boards", class: active === "boards" ? "active" : "", "aria-current": active === "boards" ? "page" : null }, icon("board"), h("span", null, "Boards")),
    h("a", { href: "#/teams", class: active === "teams" ? "active" : "", "aria-current": active === "teams" ? "page" : null }, icon("users"), h("span", null, "Teams")));
  const me = h("div", { class: "me" },
    avatar(session.user.name),
    h("span", { class: "me-name", "data-testid": "me" }, session.user.name),
    h("button", { class: "btn btn-ghost btn-sm", type: "button", "data-testid": "signout", onclick: signOut, title: "Sign out" },
      icon("signout"), h("span", { class: "hide-narrow" }, "Sign out")));
  header.append(nav, me);
}

async function signOut() {
  try {
    await api.signOut();
  } catch (e) {
    // A session that is already gone is signed out too.
    if (e.status && e.status !== 401) {
      toast(e.message, "error");
      return;
    }
  }
  signOutAll();
  session.user = null;
  setHint(false);
  notice("You are signed out.", "info");
  go("#/signin");
}

// A hint (not the session: that is the HttpOnly cookie) that this browser has signed in, so that
// a visitor who never did is shown the sign-in page without a request that can only fail.
const HINT = "teamboard.signedIn";
function setHint(on) {
  try {
    if (on) localStorage.setItem(HINT, "1");
    else localStorage.removeItem(HINT);
  } catch (_) { /* private mode: always ask the server */ }
}
function hasHint() {
  try { return localStorage.getItem(HINT) !== "0" && localStorage.getItem(HINT) !== null; } catch (_) { return true; }
}

export function signedIn(user) {
  session.user = user;
  setHint(true);
}

// The session is gone (signed out in another tab, expired): back to sign-in, with a word.
export function sessionEnded() {
  if (!session.user) return;
  session.user = null;
  setHint(false);
  signOutAll();
  notice("Your session has ended. Please sign in again.");
  go("#/signin");
}

setUnauthorizedHandler(sessionEnded);

async function route() {
  if (cleanup) {
    try { cleanup(); } catch (_) { /* a view's teardown must not stop navigation */ }
    cleanup = null;
  }
  const hash = location.hash || "";
  // In-page anchors (the skip link) are not routes.
  if (hash && !hash.startsWith("#/") && main.querySelector(".view")) return;
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [page, id] = hash.startsWith("#/") ? parts : [];
  const view = h("div", { class: "view" });
  const n = takeNotice();
  clear(main);
  document.body.dataset.page = page || "";

  if (!session.user && page !== "signup") {
    if (page !== "signin") {
      if (n) pendingNotice = { message: n.textContent, kind: "warn" };
      go("#/signin");
      return;
    }
  }
  if (session.user && (page === "signin" || page === "signup" || !page)) {
    go("#/boards");
    return;
  }
  if (n) main.append(n);
  main.append(view);
  const ctx = { view, setCleanup: (fn) => { cleanup = fn; } };
  try {
    if (page === "signin" || page === "signup") {
      renderHeader(null);
      renderAuth(ctx, page);
    } else if (page === "boards" && id) {
      renderHeader("boards");
      await renderBoard(ctx, Number(id));
    } else if (page === "boards") {
      renderHeader("boards");
      await renderBoards(ctx);
    } else if (page === "teams" && id) {
      renderHeader("teams");
      await renderTeam(ctx, Number(id));
    } else if (page === "teams") {
      renderHeader("teams");
      await renderTeams(ctx);
    } else {
      renderHeader(null);
      view.append(h("div", { class: "empty" }, h("h1", null, "Page not found"),
        h("p", null, h("a", { href: "#/boards" }, "Go to your boards"))));
    }
  } catch (e) {
    if (e && e.status === 401) return;  // the handler above moved to sign-in
    view.append(h("div", { class: "notice notice-error", role: "alert", "data-testid": "notice" },
      e && e.message ? e.message : "Something went wrong."));
    if (!(e && e.name === "ApiError")) setTimeout(() => { throw e; });
  }
  document.body.dataset.ready = "1";
}

document.querySelector(".skip-link")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

async function boot() {
  if (hasHint()) {
    try {
      session.user = await api.me();
    } catch (e) {
      session.user = null;
      if (e.status === 401) setHint(false);
      else notice(e.message, "error");
    }
  }
  window.addEventListener("hashchange", route);
  route();
}

boot();
