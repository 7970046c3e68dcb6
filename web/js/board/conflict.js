// The conflict box on a note: someone else changed it at the same time (a 412 on text or
// colour, or on a delete). The other person's version is shown; the user's change can be
// reapplied ("Keep mine") or dropped ("Keep theirs"). install(B) adds renderConflict and
// keepMine to the board context B; B.conflicts holds id -> {fields, theirs, kind, who}.
import { h } from "../ui.js";
import { describeFields } from "./state.js";

export function install(B) {
  Object.assign(B, { renderConflict, keepMine });

  function renderConflict(id) {
    const el = B.els.get(id);
    if (!el) return;
    const old = el.querySelector(".note-conflict");
    const c = B.conflicts.get(id);
    if (!c) {
      if (old) old.remove();
      el.classList.remove("note-conflicted");
      return;
    }
    if (old && old._c === c) return;
    if (old) old.remove();
    const box = conflictBox(id, c, el);
    el.classList.add("note-conflicted");
    el.append(box);
  }

  function conflictBox(id, c, el) {
    const who = c.who || "Someone else";
    const parts = [];
    if ("text" in c.fields) parts.push(h("div", { class: "conflict-mine" }, h("span", { class: "muted" }, "Your text:"), h("blockquote", { "data-testid": "conflict-mine" }, c.fields.text || "(empty)")));
    const desc = c.kind === "delete" ? "You tried to delete it."
      : Object.keys(c.fields).filter((k) => k !== "text").length
        ? `Your change: ${describeFields(c.fields)}.` : null;
    const box = h("div", { class: "note-conflict", role: "alert", "data-testid": "note-conflict" },
      h("strong", null, c.kind === "delete" ? `${who} changed this note before you deleted it.` : `${who} changed this note at the same time as you.`),
      h("p", { class: "muted" }, "You see their version now."),
      parts, desc ? h("p", null, desc) : null,
      h("div", { class: "conflict-actions" },
        h("button", { type: "button", class: "btn btn-primary btn-sm", "data-testid": "conflict-keep-mine", onclick: (e) => { e.stopPropagation(); keepMine(el._id); } },
          c.kind === "delete" ? "Delete anyway" : "Keep mine"),
        h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-testid": "conflict-keep-theirs", onclick: (e) => { e.stopPropagation(); B.keepTheirs(el._id); el.focus(); } },
          c.kind === "delete" ? "Keep the note" : "Keep theirs")));
    box._c = c;
    box.addEventListener("pointerdown", (e) => e.stopPropagation());
    box.addEventListener("dblclick", (e) => e.stopPropagation());
    return box;
  }

  async function keepMine(id) {
    const c = B.conflicts.get(id);
    const it = B.items.get(id);
    if (!c || !it) return;
    B.conflicts.delete(id);
    renderConflict(id);
    const el = B.els.get(id);
    if (el && c.kind !== "delete") el.focus();
    if (c.kind === "delete") await B.deleteNote(id, { confirmed: true });
    else await B.commit(id, c.fields, it);
  }
}
