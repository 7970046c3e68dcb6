// Error codes (docs/api.md, "Errors") as sentences for people. tests/unit/test_resp.c fails when a
// code the server answers has no sentence here.
const SENTENCES = {
  network: "Can't reach the Teamboard server. Check your connection and try again.",
  unauthorized: "Your session has ended. Please sign in again.",
  invalid_credentials: "That name and password don't match an account.",
  registration_closed:
    "Sign-up is closed on this server. Ask an administrator to create an account for you.",
  name_taken: "That name is already taken. Please choose another one.",
  forbidden: "Your role doesn't allow that here.",
  not_found: "That doesn't exist any more, or you don't have access to it.",
  version_mismatch: "Someone else changed this in the meantime.",
  already_member: "That person is already a member of this team.",
  last_admin: "A team needs at least one admin. Make someone else an admin first.",
  too_large: "That is too much text to save at once.",
  unsupported_media_type: "The browser sent something the server doesn't understand.",
  bad_json: "The browser sent something the server doesn't understand.",
  bad_request: "The server didn't understand that request.",
  bad_origin: "The server refused a request from this page's address (cross-site protection).",
  method_not_allowed: "The server doesn't allow that action.",
  db_unavailable: "The server's database is unavailable right now. Please try again in a moment.",
  internal: "Something went wrong on the server. Please try again.",
  too_many_streams: "The server is busy; live updates will arrive a little slower.",
  busy: "The server is busy; try again in a moment.",
  reset: "This board changed too much while you were away; it has been reloaded.",
  invalid: "That value isn't accepted.",
  conflict: "Someone else changed this at the same moment. Please try again.",
  idempotency_key_reused: "The browser sent a different note under an old request key. Please try again.",
  too_many_attempts: "Too many failed sign-ins. Please wait a moment and try again.",
  timeout: "The request took too long to reach the server. Please try again.",
  not_deleted: "That isn't in the trash any more; it is back already.",
  account_disabled: "This account is disabled. Ask an administrator to enable it.",
  wrong_password: "That isn't your current password.",
  nothing_to_undo: "There is nothing of yours to undo on this board.",
  nothing_to_redo: "There is nothing to redo.",
  too_many_invites: "This team has 100 open invite links. Revoke one first.",
  gone: "That is gone for good: removed from the trash, or a link that was used or has expired.",
  too_many_changes: "That version differs from the board in too many notes. Restore a version in between first.",
  too_many_links: "This board has as many public links as it may have. Delete one first.",
};

// Field names in 422 messages ("x: must be an integer ...") in words.
const FIELDS = {
  name: "Name",
  password: "Password",
  title: "Title",
  team_id: "Team",
  text: "Text",
  color: "Color",
  x: "Position",
  y: "Position",
  width: "Width",
  height: "Height",
  z: "Stacking order",
  role: "Role",
};

function invalidSentence(message) {
  const m = /^([a-z_]+): (.*)$/.exec(message || "");
  if (!m) return message ? capitalize(message) + "." : SENTENCES.invalid;
  const field = FIELDS[m[1]] || capitalize(m[1].replace(/_/g, " "));
  let rest = m[2].replace(/\.$/, "");
  if (m[1] === "name" && rest === "no such user") return "There is no user with that name.";
  if (m[1] === "team_id" && rest === "no such team") return "You are not a member of that team.";
  return `${field}: ${rest}.`;
}

function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// body: the error reply's JSON, for the codes that carry a figure (too_many_changes: max_changes).
export function describeError(code, message, status, body = null) {
  if (code === "invalid") return invalidSentence(message);
  if (code === "too_many_changes" && body && Number.isSafeInteger(body.max_changes) && body.max_changes > 0) {
    return `That version differs from the board in more than ${body.max_changes.toLocaleString("en-US")} notes. ` +
      "Restore a version in between first.";
  }
  if (SENTENCES[code]) return SENTENCES[code];
  if (status >= 500) return SENTENCES.internal;
  if (status === 404) return SENTENCES.not_found;
  if (status === 403) return SENTENCES.forbidden;
  return "That didn't work" + (status ? ` (HTTP ${status})` : "") + ". Please try again.";
}
