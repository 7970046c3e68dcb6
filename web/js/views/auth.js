// Sign in / sign up.
import { api } from "../api.js";
import { h, field, errorLine, showError } from "../ui.js";
import { go, signedIn, afterSignIn } from "../shell.js";

export function renderAuth({ view }, page) {
  const isSignup = page === "signup";
  const name = h("input", { name: "name", autocomplete: "username", required: true, maxlength: 64, autocapitalize: "none", spellcheck: "false", "data-testid": "auth-name" });
  const password = h("input", { name: "password", type: "password", required: true, minlength: isSignup ? 8 : null, maxlength: 1024, autocomplete: isSignup ? "new-password" : "current-password", "data-testid": "auth-password" });
  const display = isSignup ? h("input", { name: "display_name", autocomplete: "nickname", maxlength: 200, "data-testid": "auth-display-name" }) : null;
  const err = errorLine();
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", "data-testid": "auth-submit" }, isSignup ? "Create account" : "Sign in");
  const form = h("form", { class: "auth-form", novalidate: true },
    field("Name", name, isSignup ? "Letters, digits, dot, dash or underscore." : null),
    field("Password", password, isSignup ? "At least 8 characters." : null),
    isSignup ? field("Display name (optional)", display, "What others see, in any script; your name if empty.") : null,
    err, submit);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    const n = name.value.trim();
    const p = password.value;
    if (!n) return showError(err, "Please enter your name."), name.focus();
    if (isSignup && p.length < 8) return showError(err, "The password needs at least 8 characters."), password.focus();
    if (!p) return showError(err, "Please enter your password."), password.focus();
    submit.disabled = true;
    try {
      if (isSignup) await api.signUp(n, p, display.value.trim());
      const s = await api.signIn(n, p);
      signedIn(s.user);
      go(afterSignIn());
    } catch (ex) {
      showError(err, ex.message);
      submit.disabled = false;
      (ex.code === "name_taken" ? name : display && /^display_name/.test(ex.serverMessage || "") ? display : password).focus();
    }
  });

  view.append(h("section", { class: "auth" },
    h("div", { class: "auth-card" },
      h("div", { class: "auth-art", "aria-hidden": "true" },
        h("span", { class: "art-note a" }), h("span", { class: "art-note b" }), h("span", { class: "art-note c" })),
      h("h1", null, isSignup ? "Create your account" : "Welcome back"),
      h("p", { class: "muted" }, isSignup ? "Boards of sticky notes, shared live with your team." : "Sign in to your boards."),
      form,
      h("p", { class: "auth-switch" }, isSignup
        ? ["Already have an account? ", h("a", { href: "#/signin", "data-testid": "to-signin" }, "Sign in")]
        : ["New here? ", h("a", { href: "#/signup", "data-testid": "to-signup" }, "Create an account")]))));
  name.focus();
}
