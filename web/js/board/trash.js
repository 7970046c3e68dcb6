// The board's trash panel: the "Trash" button in the bar opens a panel beside the canvas with the
// board's deleted notes (GET /boards/:id/trash: text, colour, who deleted it and when, newest first;
// at most 100, "more" beyond), each with Restore for editors and up (POST .../restore; hidden for
// viewers). The restored note is put on the board at once (B.upsert) and reaches the others as
// item.created with restored: true. While the panel is open it follows the board: item.deleted and
// item.created re-read the list (onTrashEvent, called by sync.js). install(B) adds toggleTrash and
// onTrashEvent to the board context B.
import { api } from "../api.js";
import { h, clear, icon, toast, timeAgo, shownName } from "../ui.js";
import { shortText, COLOR_NAME } from "./state.js";

export function install(B) {
  Object.assign(B, { toggleTrash, onTrashEvent });
  let entries = [];
  let more = false;
  let reading = null;   // the GET under way
  let again = false;    // another event came while it ran: read once more
  const headingId = `trash-h-${B.board.id}`;
  const status = h("p", { class: "sr-only", role: "status", "data-testid": "trash-status" });
  const list = h("ul", { class: "trash-items", "data-testid": "trash-items" });
  const body = h("div", { class: "trash-body" });
  const panel = h("aside", { class: "trash-panel", id: `trash-panel-${B.board.id}`, "aria-labelledby": headingId, "data-testid": "trash-panel", hidden: true },
    h("div", { class: "trash-head" },
      h("h2", { id: headingId, tabindex: "-1" }, "Trash"),
      h("button", { type: "button", class: "btn btn-ghost btn-xs", "data-testid": "trash-close", "aria-label": "Close the trash", onclick: () => toggleTrash(false) }, "Close")),
    h("p", { class: "muted trash-note" }, "Deleted notes of this board, the latest first."),
    status, body);
  B.trashBtn = h("button", {
    type: "button", class: "btn btn-ghost btn-sm", "data-testid": "board-trash", "aria-label": "Trash", "aria-expanded": "false", "aria-controls": panel.id,
    onclick: () => toggleTrash(panel.hidden),
  }, icon("trash"), h("span", { class: "hide-narrow" }, "Trash"));
  B.deleteBtn.before(B.trashBtn);
  B.root.append(panel);
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); toggleTrash(false); } });
  panel.addEventListener("pointerdown", (e) => e.stopPropagation());

  // The role may change live (a viewer made editor): Restore follows it.
  const prevFrame = B.renderFrame;
  B.renderFrame = () => { prevFrame(); if (!panel.hidden) draw(); };

  async function toggleTrash(open) {
    panel.hidden = !open;
    B.trashBtn.setAttribute("aria-expanded", String(open));
    if (!open) { B.trashBtn.focus(); return; }
    panel.style.top = `${B.bar.offsetTop + B.bar.offsetHeight + 8}px`;  // below the bar (two rows on phones)
    clear(body).append(h("p", { class: "muted" }, "Loading…"));
    panel.querySelector("h2").focus();
    await read();
  }

  async function read() {
    if (reading) { again = true; return reading; }
    reading = (async () => {
      do {
        again = false;
        try {
          const r = await api.boardTrash(B.board.id);
          entries = r.trash || [];
          more = Boolean(r.more);
        } catch (e) {
          if (e.status === 401) return;
          clear(body).append(h("p", { class: "form-error", role: "alert" }, e.message));
          return;
        }
        if (!panel.hidden && !B.gone) draw();
      } while (again);
    })();
    try { await reading; } finally { reading = null; }
  }

  function draw() {
    clear(body);
    if (!entries.length) {
      body.append(h("p", { class: "muted", "data-testid": "trash-empty" }, "No deleted notes."));
      return;
    }
    clear(list).append(...entries.map(row));
    body.append(list);
    if (more) body.append(h("p", { class: "muted", "data-testid": "trash-more" }, `More deleted notes: only the latest ${entries.length} are shown. Restore some to see older ones.`));
  }

  function row(e) {
    const it = e.item;
    const text = shortText(it);
    const who = e.deleted_by ? shownName(e.deleted_by) : "a deleted user";
    const li = h("li", { class: "trash-item", "data-testid": "trash-item", "data-id": it.id },
      h("span", { class: "trash-swatch", style: { background: it.color }, title: COLOR_NAME.get(it.color) || "custom color", "aria-hidden": "true" }),
      h("div", { class: "trash-text" },
        h("span", { class: "trash-note-text", "data-testid": "trash-item-text" }, text || "(empty note)"),
        h("span", { class: "muted trash-meta" }, `${COLOR_NAME.get(it.color) || "Custom color"} · deleted by ${who} ${timeAgo(e.deleted_at)}`)));
    if (B.canEdit()) {
      li.append(h("button", {
        type: "button", class: "btn btn-ghost btn-xs", "data-testid": "trash-item-restore", "aria-label": `Restore note ${text || "(empty)"}`,
        onclick: (ev) => restore(it, ev.currentTarget),
      }, "Restore"));
    }
    return li;
  }

  async function restore(it, btn) {
    btn.disabled = true;
    try {
      const back = await api.restoreItem(B.board.id, it.id);
      B.deleting.delete(back.id);
      B.upsert(back, { flash: true });
      entries = entries.filter((x) => x.item.id !== it.id);
      status.textContent = `Note restored${shortText(back) ? `: ${shortText(back)}` : ""}.`;
      draw();
      panel.querySelector("h2").focus();
    } catch (e) {
      if (e.status === 401) return;
      toast(e.message, "error");
      btn.disabled = false;
      if (e.status === 409 || e.status === 410 || e.status === 404) read();
    }
  }

  // A live event of the board (sync.js): a note deleted or (re)created changes the trash.
  function onTrashEvent(type) {
    if (panel.hidden || B.gone) return;
    if (type === "item.deleted" || type === "item.created") read();
  }
}
