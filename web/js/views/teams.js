// Teams: list and create; a team's page: members (add by name with a role, change a role,
// remove, leave), invite links for admins (invite.js) and the team's boards. Both pages stay current by themselves (keepFresh in
// boards.js: re-read every 15 s while visible and at once on focus, with If-None-Match).
import { api } from "../api.js";
import { h, clear, icon, field, errorLine, showError, toast, confirmDialog, avatar, shownName, personTitle, ROLE_WORDS } from "../ui.js";
import { go, session, notice } from "../shell.js";
import { inviteSection } from "./invite.js";
import { createBoardForm, boardCard, keepFresh, readAll, busyIn, redrawKeepingFocus } from "./boards.js";

// Draws with drawFn(view, ...data) now and again whenever the data of paths change (not while
// the person is typing or a dialog is open: then at the next round).
async function live({ view, setCleanup }, paths, drawFn, onError) {
  const first = await readAll(paths);
  let pending = false;
  let last = first.data;
  const draw = (data) => redrawKeepingFocus(view, () => { clear(view); drawFn(view, ...data); });
  draw(last);
  keepFresh(setCleanup, async () => {
    const r = await readAll(paths);
    return pending ? { changed: true, data: r.data } : r;
  }, (data) => {
    last = data;
    pending = busyIn(view);
    if (!pending) draw(last);
  }, onError);
}

const ROLES = ["viewer", "editor", "admin"];
const ROLE_HELP = {
  viewer: "sees the team's boards",
  editor: "also adds and changes notes and boards",
  admin: "also manages members and deletes boards",
};

export function renderTeams(ctx) {
  return live(ctx, ["/teams"], drawTeams);
}

function drawTeams(view, { teams }) {
  const name = h("input", { name: "name", required: true, maxlength: 100, placeholder: "e.g. Design", "data-testid": "new-team-name" });
  const err = errorLine();
  const btn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "new-team-submit" }, icon("plus"), "Create team");
  const form = h("form", { class: "inline-form card" },
    h("div", { class: "inline-fields" }, field("New team", name), h("div", { class: "field field-button" }, btn)), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(err, "");
    const n = name.value.trim();
    if (!n) return showError(err, "Please give the team a name."), name.focus();
    btn.disabled = true;
    try {
      const t = await api.createTeam(n);
      go(`#/teams/${t.id}`);
    } catch (ex) {
      showError(err, ex.message);
      btn.disabled = false;
    }
  });
  view.append(h("div", { class: "page-head" }, h("h1", null, "Teams"),
    h("p", { class: "muted" }, "Boards of a team are shared with all its members.")), form);
  if (!teams.length) {
    view.append(h("div", { class: "empty card" }, h("h2", null, "No teams yet"),
      h("p", { class: "muted" }, "Create a team, then add people by their name.")));
    return;
  }
  view.append(h("ul", { class: "team-list", "data-testid": "team-list" }, teams.map((t) =>
    h("li", { class: "team-row card" },
      h("a", { href: `#/teams/${t.id}`, class: "team-name", "data-testid": "team-link" }, t.name),
      h("span", { class: `chip chip-role role-${t.role}` }, ROLE_WORDS[t.role] || t.role)))));
}

export function renderTeam(ctx, teamId) {
  // One "Invite people" section for the page's life: a new link stays shown when the page redraws.
  let invites = null;
  const withInvites = (team) => {
    if (team.role !== "admin") return null;
    if (invites) invites.refresh();
    else invites = inviteSection(teamId);
    return invites;
  };
  return live(ctx, [`/teams/${teamId}`, "/boards", "/teams"], (view, team, bl, tl) => drawTeam(view, teamId, team, bl, tl, withInvites(team)), (e) => {
    if (e.status === 404 || e.status === 403) {
      notice("You are no longer a member of that team.", "warn");
      go("#/teams");
    }
  });
}

function drawTeam(view, teamId, team, bl, tl, invites) {
  const isAdmin = team.role === "admin";
  const me = session.user;
  const reload = () => go(`#/teams/${teamId}`);

  view.append(h("div", { class: "page-head" },
    h("a", { href: "#/teams", class: "back-link" }, icon("back"), "Teams"),
    h("h1", { "data-testid": "team-title" }, team.name),
    h("p", { class: "muted" }, `You are ${team.role === "admin" ? "an admin" : "a" + (team.role === "editor" ? "n editor" : " viewer")} of this team.`)));

  // ---- members
  const members = h("ul", { class: "member-list", "data-testid": "member-list" });
  for (const m of team.members) {
    const shown = shownName(m);
    const row = h("li", { class: "member", "data-testid": "member", "data-name": m.name, "data-display-name": shown, title: personTitle(m) },
      avatar(shown), h("span", { class: "member-name" }, shown,
        shown !== m.name ? h("span", { class: "muted member-login" }, ` @${m.name}`) : null,
        m.user_id === me.id ? h("span", { class: "muted" }, " (you)") : null));
    if (isAdmin) {
      const sel = h("select", { "aria-label": `Role of ${shown}`, "data-testid": "member-role" },
        ROLES.map((r) => h("option", { value: r, selected: r === m.role }, ROLE_WORDS[r])));
      sel.addEventListener("change", async () => {
        const prev = m.role;
        try {
          const nm = await api.setRole(teamId, m.user_id, sel.value);
          m.role = nm.role;
          toast(`${shown} is now ${ROLE_WORDS[nm.role].toLowerCase()}.`);
          if (m.user_id === me.id) reload();
        } catch (ex) {
          sel.value = prev;
          toast(ex.message, "error");
        }
      });
      row.append(sel);
    } else {
      row.append(h("span", { class: `chip chip-role role-${m.role}` }, ROLE_WORDS[m.role]));
    }
    if (isAdmin || m.user_id === me.id) {
      const leaving = m.user_id === me.id;
      row.append(h("button", {
        type: "button", class: "btn btn-ghost btn-sm btn-danger-text", "data-testid": leaving ? "member-leave" : "member-remove",
        "aria-label": leaving ? "Leave this team" : `Remove ${shown}`,
        onclick: async () => {
          const q = leaving ? `Leave the team “${team.name}”? You lose access to its boards.`
            : `Remove ${shown} from “${team.name}”? They lose access to the team's boards at once.`;
          if (!(await confirmDialog(q, { ok: leaving ? "Leave" : "Remove" }))) return;
          try {
            await api.removeMember(teamId, m.user_id);
            if (leaving) {
              toast(`You left “${team.name}”.`);
              go("#/teams");
            } else {
              toast(`${shown} was removed.`);
              reload();
            }
          } catch (ex) {
            toast(ex.message, "error");
          }
        },
      }, leaving ? "Leave" : "Remove"));
    }
    members.append(row);
  }

  const section = h("section", { class: "card members" }, h("h2", null, "Members"), members);
  if (isAdmin) {
    const name = h("input", { name: "name", required: true, maxlength: 64, autocapitalize: "none", spellcheck: "false", placeholder: "their user name", "data-testid": "add-member-name" });
    const role = h("select", { name: "role", "data-testid": "add-member-role" },
      ROLES.map((r) => h("option", { value: r, selected: r === "editor" }, `${ROLE_WORDS[r]}: ${ROLE_HELP[r]}`)));
    const err = errorLine();
    const form = h("form", { class: "inline-form" },
      h("div", { class: "inline-fields" }, field("Add a member", name), field("Role", role),
        h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn btn-primary", "data-testid": "add-member-submit" }, icon("plus"), "Add"))),
      err);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      showError(err, "");
      const n = name.value.trim();
      if (!n) return showError(err, "Please enter the person's user name."), name.focus();
      try {
        const added = await api.addMember(teamId, n, role.value);
        toast(`${added ? personTitle(added) : n} added as ${ROLE_WORDS[role.value].toLowerCase()}.`);
        reload();
      } catch (ex) {
        showError(err, ex.message);
      }
    });
    section.append(form);
  }
  view.append(section);
  if (invites) view.append(invites);

  // ---- the team's boards
  const boards = (bl.boards || []).filter((b) => b.team_id === teamId);
  const bsec = h("section", { class: "board-group" }, h("h2", null, "Boards of this team"));
  if (team.role !== "viewer") bsec.append(createBoardForm(tl.teams || [], { teamId }));
  if (boards.length) bsec.append(h("ul", { class: "board-grid" }, boards.map((b) => boardCard(b, team.name, reload))));
  else bsec.append(h("p", { class: "muted" }, "No boards yet."));
  view.append(bsec);
}
