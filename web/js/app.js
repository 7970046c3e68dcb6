// Teamboard web client: hash router (#/boards, #/boards/12, #/teams, #/teams/3, #/trash,
// #/account, #/signin, #/signup, #/reset-password/<token>, #/invite/<token>, #/public/<token>: static hosting needs no rewrite rules) and the page frame: the header, the
// offline banner (while the server is unreachable: the live feeds' states, the API's replies and
// the outbox), the outbox's start and stop with the session, the link a signed-out visitor
// opened (back there after sign-in, kept in shell.js with the session) and focus on the page
// heading after each navigation.
import { api, setUnauthorizedHandler, reachability, forgetCached } from "./api.js";
import { h, clear, icon, avatar, toast, shownName, personTitle } from "./ui.js";
import { signOutAll, watchStates } from "./live.js";
import { outbox } from "./outbox.js";
import { session, go, notice, takeNotice, setRouter, setHint, hasHint, rememberReturn, sessionEnded } from "./shell.js";
import { renderAuth } from "./views/auth.js";
import { renderBoards } from "./views/boards.js";
import { renderTeams, renderTeam } from "./views/teams.js";
import { renderBoard } from "./views/board.js";
import { renderTrash } from "./views/trash.js";
import { renderAccount, renderReset } from "./views/account.js";
import { renderInvite } from "./views/invite.js";
import { renderPublic } from "./views/public.js";

let cleanup = null;        // the current view's teardown

const main = document.getElementById("main");
const header = document.getElementById("app-header");

function renderHeader(active) {
  clear(header);
  // Named for screen readers also where the word is hidden (phones show the mark only).
  const brand = h("a", { class: "brand", href: session.user ? "#/boards" : "#/signin", "aria-label": "Teamboard" },
    h("span", { class: "brand-mark", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
    h("span", null, "Teamboard"));
  header.append(brand);
  if (!session.user) return;
  const nav = h("nav", { class: "nav", "aria-label": "Main" },
    h("a", { href: "#/boards", class: active === "boards" ? "active" : "", "aria-current": active === "boards" ? "page" : null }, icon("board"), h("span", null, "Boards")),
    h("a", { href: "#/teams", class: active === "teams" ? "active" : "", "aria-current": active === "teams" ? "page" : null }, icon("users"), h("span", null, "Teams")));
  const me = h("div", { class: "me" },
    h("a", { href: "#/account", class: `me-link${active === "account" ? " active" : ""}`, "data-testid": "account-link",
      "aria-current": active === "account" ? "page" : null, title: "Your account" },
    avatar(shownName(session.user)),
    h("span", { class: "me-name", "data-testid": "me", title: personTitle(session.user) }, shownName(session.user)),
    h("span", { class: "sr-only" }, " (your account)")),
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
  signedOut("You are signed out.");
}

// The session is over on the server (signed out, the account deleted): forget it here, then
// the sign-in page with message.
function signedOut(message) {
  signOutAll();
  outbox.stop();
  forgetCached();
  session.user = null;
  setHint(false);
  notice(message, "info");
  go("#/signin");
}

setUnauthorizedHandler(sessionEnded);
setRouter(route);

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

  if (page === "public") {
    // A public link's page: no session needed, the same for the signed-in.
    renderHeader(null);
    main.append(view);
    await renderPublic({ view, setCleanup: (fn) => { cleanup = fn; } }, id);
    focusHeading(view, page);
    document.body.dataset.ready = "1";
    return;
  }
  if (page === "reset-password") {
    renderHeader(null);
    main.append(view);
    renderReset({ view }, id);
    focusHeading(view, page);
    document.body.dataset.ready = "1";
    return;
  }
  if (page === "invite") {
    // Signed in or not: the page says who may join and how.
    renderHeader(null);
    main.append(view);
    await renderInvite({ view, session, go, rememberReturn }, id);
    if (hash === location.hash) focusHeading(view, page);
    document.body.dataset.ready = "1";
    return;
  }
  if (!session.user && page !== "signup") {
    if (page !== "signin") {
      if (n) notice(n.textContent, "warn");
      rememberReturn(hash);
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
  const ctx = { view, setCleanup: (fn) => { cleanup = fn; }, session, signedOut };
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
    } else if (page === "trash" && !id) {
      renderHeader("boards");
      await renderTrash(ctx);
    } else if (page === "account" && !id) {
      renderHeader("account");
      // A new display name shows in the header at once.
      renderAccount({ ...ctx, renamed: (user) => { session.user = user; renderHeader("account"); } });
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
  if (hash === location.hash) focusHeading(view, page);
  document.body.dataset.ready = "1";
}

// After a navigation, focus goes to the new page's heading (screen readers read where they
// are), unless the view put it somewhere itself (the sign-in form's name field, a board).
function focusHeading(view, page) {
  if (page === "signin" || page === "signup") return;
  const a = document.activeElement;
  if (a && a !== document.body && a !== main && view.isConnected && !header.contains(a)) return;
  const h1 = view.querySelector("h1");
  if (!h1) return;
  if (!h1.hasAttribute("tabindex")) h1.setAttribute("tabindex", "-1");
  h1.focus({ preventScroll: true });
}

// ---- the offline banner: shown while the server is unreachable (a live feed offline or
// reconnecting and the API not answering, or the outbox's last send failed for the network).
// While a feed is not live, the API is probed every PROBE_MS so that the banner comes and goes
// within seconds.
const PROBE_MS = 3000;
const banner = h("div", { class: "offline-banner", role: "status", "data-testid": "offline-banner", hidden: true });
header.after(banner);
let feedStates = new Map();
let probeTimer = null;
let lastProbe = 0;

function updateBanner() {
  const states = [...feedStates.values()];
  const feedsDown = states.some((st) => st === "offline" || st === "reconnecting");
  const unreachable = !reachability.ok || states.includes("offline");
  const down = Boolean(session.user) && (unreachable || !outbox.online);
  const kind = unreachable ? "offline" : "server";
  if (down && (banner.hidden || banner.dataset.kind !== kind)) {
    banner.dataset.kind = kind;
    clear(banner).append(unreachable
      ? h("strong", null, "You are offline.")
      : h("strong", null, "The server is not saving changes right now."),
    unreachable ? " Can't reach the Teamboard server." : "",
    " Your changes are kept in this browser and saved as soon as it answers again.");
  }
  banner.hidden = !down;
  document.body.classList.toggle("is-offline", down);
  const wantProbe = Boolean(session.user) && (feedsDown || unreachable || !outbox.online);
  if (wantProbe && !probeTimer) {
    probeTimer = setTimeout(probe, Math.max(300, lastProbe + PROBE_MS - Date.now()));
  }
}

async function probe() {
  lastProbe = Date.now();
  try {
    await api.me();
  } catch (_) { /* the reply (or its absence) sets reachability */ }
  probeTimer = null;
  if (reachability.ok && !outbox.online) outbox.retryNow();
  updateBanner();
}

watchStates((states) => { feedStates = states; updateBanner(); });
reachability.watch(updateBanner);
outbox.watchOnline(updateBanner);
window.addEventListener("online", () => { outbox.retryNow(); updateBanner(); });

document.querySelector(".skip-link")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

async function boot() {
  if (hasHint()) {
    try {
      session.user = await api.me();
      outbox.start(session.user.id);
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
