// The account page (#/account, the user's name in the header) and the reset link's page
// (#/reset-password/<token>, the link `teamboard-admin reset-password` prints).
//   account: change the display name (PATCH /users/me {display_name}: what others see; the login
//            name stays), change the password (PATCH /users/me: every other session of the user ends, which
//            the page says) and delete the account (DELETE /users/me, confirmed with the password;
//            409 last_admin explained; then back to sign-in).
//   reset:   a new password for the link (POST /password-resets/:token: 204 set, 410 used or
//            expired, 404 not a link).
// 403 wrong_password and 429 too_many_attempts (with Retry-After) are shown at the form. Imports
// nothing from app.js (no cycle): the shell passes session, signedOut in ctx.
import { api } from "../api.js";
import { h, field, errorLine, showError, confirmDialog, shownName } from "../ui.js";

const TOKEN = /^[0-9a-f]{64}$/;

// The sentence for a refusal at a password form (errors.js's, plus the wait of a 429).
function refusal(e) {
  if (e.code === "too_many_attempts" && e.retryAfter) {
    const s = e.retryAfter;
    return `${e.message} You can try again in ${s < 90 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`}.`;
  }
  return e.message;
}

function passwordInput(testid, autocomplete, extra = {}) {
  return h("input", { type: "password", required: true, maxlength: 100, autocomplete, "data-testid": testid, ...extra });
}

// A success line (role=status: read out).
function okLine(testid) {
  return h("p", { class: "form-ok", role: "status", "data-testid": testid });
}

export function renderAccount(ctx) {
  const { view, session } = ctx;
  const who = h("p", { class: "muted", "data-testid": "account-who" });
  const sayWho = (u) => { who.textContent = `Signed in as ${u.name}${shownName(u) !== u.name ? `, shown to others as ${shownName(u)}` : ""}.`; };
  sayWho(session.user);
  view.append(h("div", { class: "page-head" }, h("h1", null, "Your account"), who));
  view.append(displayNameForm(ctx, sayWho), passwordForm(), deleteForm(ctx));
}

// The display name: 1 to 100 characters of any script, trimmed by the server (which counts
// characters, not bytes: a maxlength counts UTF-16 units, so the server has the last word).
function displayNameForm({ session, renamed }, sayWho) {
  const input = h("input", { value: shownName(session.user), required: true, maxlength: 200, autocomplete: "nickname", "data-testid": "dn-input" });
  const err = errorLine();
  const ok = okLine("dn-ok");
  const btn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "dn-submit" }, "Save name");
  const form = h("form", { class: "card account-form", novalidate: true, "aria-labelledby": "dn-h", "data-testid": "dn-form" },
    h("h2", { id: "dn-h" }, "Display name"),
    field("Display name", input, `What others see on boards and in teams. You still sign in as ${session.user.name}.`),
    err, ok, btn);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    ok.textContent = "";
    if (!input.value.trim()) return showError(err, "Please enter a name."), input.focus();
    btn.disabled = true;
    try {
      const user = await api.setDisplayName(input.value);
      input.value = user.display_name;
      sayWho(user);
      if (renamed) renamed(user);
      ok.textContent = `Others now see you as ${user.display_name}.`;
    } catch (ex) {
      if (ex.status === 401) return;
      showError(err, ex.message);
      input.focus();
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

function passwordForm() {
  const current = passwordInput("pw-current", "current-password");
  const next = passwordInput("pw-new", "new-password", { minlength: 8 });
  const again = passwordInput("pw-repeat", "new-password", { minlength: 8 });
  const err = errorLine();
  const ok = okLine("pw-ok");
  const btn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "pw-submit" }, "Change password");
  const form = h("form", { class: "card account-form", novalidate: true, "aria-labelledby": "pw-h", "data-testid": "pw-form" },
    h("h2", { id: "pw-h" }, "Change password"),
    field("Current password", current),
    field("New password", next, "8 to 100 characters."),
    field("Repeat the new password", again),
    err, ok, btn);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    ok.textContent = "";
    if (!current.value) return showError(err, "Please enter your current password."), current.focus();
    if (next.value.length < 8 || next.value.length > 100) return showError(err, "The new password needs 8 to 100 characters."), next.focus();
    if (next.value !== again.value) return showError(err, "The two new passwords are not the same."), again.focus();
    btn.disabled = true;
    try {
      await api.changePassword(current.value, next.value);
      form.reset();
      ok.textContent = "Your password is changed. Your other sessions (other browsers and devices) were signed out; this one stays signed in.";
    } catch (ex) {
      if (ex.status === 401) return;
      showError(err, refusal(ex));
      (ex.code === "invalid" && /password\.new/.test(ex.serverMessage) ? next : current).focus();
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

function deleteForm({ signedOut }) {
  const pw = passwordInput("del-password", "current-password");
  const err = errorLine();
  const btn = h("button", { type: "submit", class: "btn btn-danger", "data-testid": "del-submit" }, "Delete my account");
  const form = h("form", { class: "card account-form account-danger", novalidate: true, "aria-labelledby": "del-h", "data-testid": "del-form" },
    h("h2", { id: "del-h" }, "Delete your account"),
    h("p", { class: "muted" }, "Your personal boards and the teams where you are the only member are deleted with it. " +
      "Team boards you made and notes you wrote on them stay with the team. This cannot be undone."),
    field("Your password, to confirm", pw),
    err, btn);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    if (!pw.value) return showError(err, "Please enter your password to confirm."), pw.focus();
    if (!(await confirmDialog("Delete your account for good? You will be signed out.", { ok: "Delete account" }))) return;
    btn.disabled = true;
    try {
      await api.deleteAccount(pw.value);
      signedOut("Your account is deleted.");
    } catch (ex) {
      if (ex.status === 401) return;
      const msg = ex.code === "last_admin"
        ? "You are the only admin of a team that has other members. Make one of them an admin (or leave the team) first, then delete your account."
        : refusal(ex);
      showError(err, msg);
      btn.disabled = false;
      pw.focus();
    }
  });
  return form;
}

export function renderReset({ view }, token) {
  const valid = TOKEN.test(token || "");
  view.append(h("section", { class: "auth" }, h("div", { class: "auth-card", "data-testid": "reset-card" },
    h("h1", null, "Set a new password"),
    valid ? resetForm(token) : invalidLink())));
}

function invalidLink() {
  return h("div", null,
    h("p", { class: "form-error", role: "alert", "data-testid": "form-error" }, "This isn't a valid reset link. Check that you copied all of it, or ask an administrator for a new one."),
    h("p", { class: "auth-switch" }, h("a", { href: "#/signin" }, "Go to sign-in")));
}

function resetForm(token) {
  const next = passwordInput("reset-new", "new-password", { minlength: 8 });
  const again = passwordInput("reset-repeat", "new-password", { minlength: 8 });
  const err = errorLine();
  const btn = h("button", { type: "submit", class: "btn btn-primary btn-block", "data-testid": "reset-submit" }, "Set password");
  const form = h("form", { class: "auth-form", novalidate: true },
    field("New password", next, "8 to 100 characters."), field("Repeat the new password", again), err, btn);
  const wrap = h("div", null, h("p", { class: "muted" }, "Choose the password for your account. The link works once."), form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    if (next.value.length < 8 || next.value.length > 100) return showError(err, "The password needs 8 to 100 characters."), next.focus();
    if (next.value !== again.value) return showError(err, "The two passwords are not the same."), again.focus();
    btn.disabled = true;
    try {
      await api.resetPassword(token, next.value);
      wrap.replaceChildren(h("p", { class: "form-ok", role: "status", "data-testid": "reset-ok" }, "Your password is set. Sign in with it."),
        h("p", { class: "auth-switch" }, h("a", { href: "#/signin", "data-testid": "to-signin" }, "Sign in")));
      wrap.querySelector("a").focus();
    } catch (ex) {
      const msg = ex.status === 404 ? "This isn't a valid reset link. Check that you copied all of it, or ask an administrator for a new one." : refusal(ex);
      showError(err, msg);
      btn.disabled = ex.code === "gone";
      if (!btn.disabled) next.focus();
    }
  });
  return wrap;
}
