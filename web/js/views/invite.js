// Invite links (docs/api.md, "Invite links"):
//   inviteSection: "Invite people" on a team's page, for its admins: a role, how long the link
//     works and how many may use it (POST /teams/:id/invites), the new link with a copy button
//     (its token is shown this once), and the open links with their uses and a revoke button
//     (GET, DELETE /teams/:id/invites[/:id]).
//   renderInvite: the link's page (#/invite/<token>): the team and the role (GET /invites/:token,
//     no session needed); signed in, Join (POST /invites/:token/accept) lands on the team; signed
//     out, sign up or sign in first (the shell brings the visitor back here, and the page then
//     joins by itself). 410 gone and 409 already_member are said in words.
// Imports nothing from app.js (no cycle): the shell passes go, session and rememberReturn in ctx.
import { api } from "../api.js";
import { h, clear, icon, field, errorLine, showError, toast, confirmDialog, ROLE_WORDS } from "../ui.js";

const TOKEN = /^[0-9a-f]{64}$/;
const ROLES = ["viewer", "editor", "admin"];
const EXPIRY = [[1, "1 hour"], [24, "1 day"], [168, "7 days"], [720, "30 days"]];
// The invite the visitor chose to join before signing in (sessionStorage: this tab only).
const JOIN = "teamboard.joinInvite";

// The link as this page's own address gives it (the site may live below a path).
export function inviteUrl(token) {
  return `${location.origin}${location.pathname}#/invite/${token}`;
}

function expiryWords(iso) {
  const d = new Date(iso);
  return Number.isFinite(d.getTime()) ? d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : iso;
}

async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // No clipboard permission (plain http, an old browser): select it for Ctrl+C.
    input.focus();
    input.select();
    return false;
  }
}

// The new link, shown once, with its copy button.
function linkBox(inv) {
  const url = inviteUrl(inv.token);
  const input = h("input", { readonly: true, value: url, "aria-label": "Invite link", "data-testid": "invite-url", class: "invite-url" });
  const copy = h("button", { type: "button", class: "btn btn-primary", "data-testid": "invite-copy" }, "Copy link");
  copy.addEventListener("click", async () => {
    toast((await copyText(url, input)) ? "Link copied." : "Press Ctrl+C (⌘C) to copy the selected link.");
  });
  return h("div", { class: "invite-new", "data-testid": "invite-new" },
    h("p", null, `Anyone with this link can join as ${ROLE_WORDS[inv.role].toLowerCase()} until ${expiryWords(inv.expires_at)}`,
      inv.max_uses > 1 ? ` (${inv.max_uses} people at most).` : " (one person)."),
    h("div", { class: "inline-fields" }, input, copy),
    h("p", { class: "muted" }, "Copy it now: it is not shown again."));
}

// "Invite people" for the admins of team teamId. The element keeps its state when the team's page
// is drawn again; refresh() reads the open links again.
export function inviteSection(teamId) {
  const role = h("select", { name: "role", "data-testid": "invite-role" },
    ROLES.map((r) => h("option", { value: r, selected: r === "editor" }, ROLE_WORDS[r])));
  const hours = h("select", { name: "expires", "data-testid": "invite-expiry" },
    EXPIRY.map(([n, words]) => h("option", { value: String(n), selected: n === 168 }, words)));
  const uses = h("input", { type: "number", name: "uses", min: 1, max: 1000, value: 1, required: true, "data-testid": "invite-uses" });
  const err = errorLine();
  const btn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "invite-create" }, icon("plus"), "Create link");
  const form = h("form", { class: "inline-form", novalidate: true },
    h("div", { class: "inline-fields" }, field("Role", role), field("Link works for", hours), field("Uses", uses, "1 to 1000 people."),
      h("div", { class: "field field-button" }, btn)), err);
  const fresh = h("div", { "aria-live": "polite" });
  const list = h("ul", { class: "invite-list", "data-testid": "invite-list" });
  const section = h("section", { class: "card invites", "data-testid": "invites" },
    h("h2", null, "Invite people"),
    h("p", { class: "muted" }, "Make a link and send it to the people you want in this team."),
    form, fresh, h("h3", null, "Open links"), list);

  async function refresh() {
    try {
      const { invites } = await api.invites(teamId);
      drawList(list, invites, teamId, refresh);
    } catch (ex) {
      clear(list).append(h("li", { class: "muted" }, ex.message));
    }
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    const n = Number(uses.value);
    if (!Number.isInteger(n) || n < 1 || n > 1000) return showError(err, "Uses must be a whole number from 1 to 1000."), uses.focus();
    btn.disabled = true;
    try {
      const inv = await api.createInvite(teamId, { role: role.value, expires_in_hours: Number(hours.value), max_uses: n });
      clear(fresh).append(linkBox(inv));
      fresh.querySelector("input").select();
      await refresh();
    } catch (ex) {
      showError(err, ex.message);
    } finally {
      btn.disabled = false;
    }
  });
  section.refresh = refresh;
  refresh();
  return section;
}

function drawList(list, invites, teamId, refresh) {
  clear(list);
  if (!invites.length) {
    list.append(h("li", { class: "muted", "data-testid": "invite-none" }, "No open links."));
    return;
  }
  for (const inv of invites) {
    const words = `${ROLE_WORDS[inv.role]} · ${inv.uses} of ${inv.max_uses} used · until ${expiryWords(inv.expires_at)}`;
    list.append(h("li", { class: "invite-row", "data-testid": "invite-row", "data-id": String(inv.id) },
      h("span", null, words),
      h("button", {
        type: "button", class: "btn btn-ghost btn-sm btn-danger-text", "data-testid": "invite-revoke",
        "aria-label": `Revoke the ${ROLE_WORDS[inv.role].toLowerCase()} link`,
        onclick: async () => {
          if (!(await confirmDialog("Revoke this link? Nobody can join with it any more.", { ok: "Revoke" }))) return;
          try {
            await api.revokeInvite(teamId, inv.id);
            toast("The link was revoked.");
          } catch (ex) {
            toast(ex.message, "error");
          }
          refresh();
        },
      }, "Revoke")));
  }
}

// ---- the link's page

function gone(card, message) {
  card.append(h("p", { class: "form-error", role: "alert", "data-testid": "form-error" }, message),
    h("p", { class: "auth-switch" }, h("a", { href: "#/boards" }, "Go to your boards")));
}

export async function renderInvite(ctx, token) {
  const { view } = ctx;
  const card = h("div", { class: "auth-card", "data-testid": "invite-card" });
  view.append(h("section", { class: "auth" }, card));
  if (!TOKEN.test(token || "")) {
    card.append(h("h1", null, "Invite link"));
    return gone(card, "This isn't a valid invite link. Check that you copied all of it.");
  }
  let inv;
  try {
    inv = await api.invite(token);
  } catch (ex) {
    card.append(h("h1", null, "Invite link"));
    return gone(card, ex.code === "gone"
      ? "This invite link has expired, was used up or was revoked. Ask the team's admin for a new one."
      : ex.message);
  }
  card.append(h("h1", { "data-testid": "invite-team" }, `Join “${inv.team.name}”`),
    h("p", { class: "muted", "data-testid": "invite-role-words" },
      `You are invited as ${ROLE_WORDS[inv.role].toLowerCase()}. The link works until ${expiryWords(inv.expires_at)}.`));
  if (ctx.session.user) joinPart(ctx, card, token, inv);
  else signInPart(ctx, card, token);
}

function signInPart(ctx, card, token) {
  const back = () => {
    try { sessionStorage.setItem(JOIN, token); } catch (_) { /* private mode: Join by hand */ }
    ctx.rememberReturn(`#/invite/${token}`);
  };
  card.append(h("p", null, "Sign up or sign in, then you join the team."),
    h("div", { class: "invite-actions" },
      h("a", { href: "#/signup", class: "btn btn-primary", "data-testid": "invite-signup", onclick: back }, "Create an account"),
      h("a", { href: "#/signin", class: "btn btn-ghost", "data-testid": "invite-signin", onclick: back }, "Sign in")));
}

function joinPart(ctx, card, token, inv) {
  const err = errorLine();
  const btn = h("button", { type: "button", class: "btn btn-primary btn-block", "data-testid": "invite-join" },
    `Join as ${ctx.session.user.name}`);
  const join = async () => {
    btn.disabled = true;
    showError(err, "");
    try {
      const team = await api.acceptInvite(token);
      toast(`You joined “${team.name}”.`);
      ctx.go(`#/teams/${team.id}`);
    } catch (ex) {
      if (ex.code === "already_member") {
        toast(`You are a member of “${inv.team.name}” already.`);
        ctx.go(`#/teams/${inv.team.id}`);
        return;
      }
      showError(err, ex.code === "gone" ? "This invite link has expired, was used up or was revoked." : ex.message);
      btn.disabled = ex.code === "gone";
    }
  };
  btn.addEventListener("click", join);
  card.append(err, btn);
  let chosen = null;
  try {
    chosen = sessionStorage.getItem(JOIN);
    sessionStorage.removeItem(JOIN);
  } catch (_) { chosen = null; }
  // Back from signing up or in for this link: join at once.
  if (chosen === token) join();
}
