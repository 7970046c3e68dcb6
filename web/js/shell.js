// The shell's state that the views share, in a module of its own so that the views never import
// app.js (which imports them): the signed-in session, navigation (go, handed the router by app.js
// at start), the message for the next page, the sign-in hint, the link a signed-out visitor opened
// and the end of a session. app.js draws the page frame and routes; the views call these.
import { forgetCached } from "./api.js";
import { h } from "./ui.js";
import { signOutAll } from "./live.js";
import { outbox } from "./outbox.js";

export const session = { user: null };
let pendingNotice = null;  // a message to show on the next page (e.g. "removed from board")
let router = () => {};     // app.js's route(), set once at start

// app.js hands over its router: go() to the page already shown draws it again.
export function setRouter(fn) {
  router = fn;
}

export function go(hash) {
  if (location.hash === hash) router();
  else location.hash = hash;
}

// A message shown at the top of the next page (survives one navigation).
export function notice(message, kind = "warn") {
  pendingNotice = { message, kind };
}

export function takeNotice() {
  const n = pendingNotice;
  pendingNotice = null;
  if (!n) return null;
  return h("div", { class: `notice notice-${n.kind}`, role: "alert", "data-testid": "notice" }, n.message);
}

// A hint (not the session: that is the HttpOnly cookie) that this browser has signed in, so that
// a visitor who never did is shown the sign-in page without a request that can only fail.
const HINT = "teamboard.signedIn";
export function setHint(on) {
  try {
    if (on) localStorage.setItem(HINT, "1");
    else localStorage.removeItem(HINT);
  } catch (_) { /* private mode: always ask the server */ }
}
export function hasHint() {
  try { return localStorage.getItem(HINT) !== "0" && localStorage.getItem(HINT) !== null; } catch (_) { return true; }
}

export function signedIn(user) {
  session.user = user;
  setHint(true);
  outbox.start(user.id);
}

// ---- the link a signed-out visitor opened: sign-in (and sign-up) lead back there.
const RETURN = "teamboard.returnTo";
const RETURNABLE = /^#\/(boards|teams)(\/[0-9]{1,18})?$|^#\/invite\/[0-9a-f]{64}$/;
export function rememberReturn(hash) {
  try {
    if (RETURNABLE.test(hash) && hash !== "#/boards") sessionStorage.setItem(RETURN, hash);
  } catch (_) { /* private mode: the boards list it is */ }
}
// Where to go after sign-in: the remembered link (once), else the boards list.
export function afterSignIn() {
  let to = null;
  try {
    to = sessionStorage.getItem(RETURN);
    sessionStorage.removeItem(RETURN);
  } catch (_) { to = null; }
  return to && RETURNABLE.test(to) ? to : "#/boards";
}

// The session is gone (signed out in another tab, expired): back to sign-in, with a word.
export function sessionEnded() {
  if (!session.user) return;
  session.user = null;
  setHint(false);
  signOutAll();
  outbox.stop();
  forgetCached();
  rememberReturn(location.hash);
  notice("Your session has ended. Please sign in again.");
  go("#/signin");
}
