// Editing a note's text in place: a textarea replaces the text; Ctrl/⌘+Enter or leaving it
// saves; Escape closes it and keeps what was typed as a draft (shown on the note, marked "Draft,
// not saved", with Save and Discard; editing again continues it). install(B) adds startEdit,
// finishEdit, saveDraft and discardDraft to the board context B; B.editing is
// {id, base, textarea} while an editor is open, B.drafts id -> {text, base}.
import { h } from "../ui.js";

export function install(B) {
  Object.assign(B, { startEdit, finishEdit, saveDraft, discardDraft });

  function startEdit(id) {
    if (!B.canEdit() || (B.editing && B.editing.id === id)) return;
    if (B.editing) finishEdit(true);
    const it = B.items.get(id);
    const el = B.els.get(id);
    if (!it || !el) return;
    const ta = h("textarea", { class: "note-input", "aria-label": "Note text", "data-testid": "note-input", maxlength: 10000, spellcheck: "true" });
    const draft = B.drafts.get(id);
    ta.value = draft ? draft.text : it.text;
    B.editing = { id, base: draft ? { ...draft.base } : { ...it }, textarea: ta };
    el.classList.add("note-editing");
    el._text.replaceWith(ta);
    B.announce(id);
    if (B.positionToolbar) B.positionToolbar();
    ta.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape") { e.preventDefault(); finishEdit(false); }
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); finishEdit(true); }
    });
    ta.addEventListener("blur", () => { if (B.editing && B.editing.textarea === ta) finishEdit(true, { keepFocus: false }); });
    ta.addEventListener("pointerdown", (e) => e.stopPropagation());
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }

  function finishEdit(save, { keepFocus = true } = {}) {
    if (!B.editing) return;
    const { id, base, textarea } = B.editing;
    B.editing = null;
    B.unannounce();
    const el = B.els.get(id);
    const text = textarea.value;
    if (!save && text !== base.text) B.drafts.set(id, { text, base });
    else B.drafts.delete(id);
    B.saveDrafts();
    if (el) {
      el.classList.remove("note-editing");
      textarea.replaceWith(el._text);
      if (keepFocus) el.focus();
    }
    if (save && text !== base.text) {
      if (!B.items.has(id)) {
        if (text) B.recreate(base, { text });
        return;
      }
      B.commit(id, { text }, base);
    }
    if (el) B.renderNote(id);
  }

  function saveDraft(id) {
    const d = B.drafts.get(id);
    B.drafts.delete(id);
    B.saveDrafts();
    if (!d) return;
    if (B.items.has(id)) B.commit(id, { text: d.text }, d.base);
    else if (d.text) B.recreate(d.base, { text: d.text });
    B.renderNote(id);
    const el = B.els.get(id);
    if (el) el.focus();
  }

  function discardDraft(id) {
    B.drafts.delete(id);
    B.saveDrafts();
    B.renderNote(id);
    const el = B.els.get(id);
    if (el) el.focus();
  }
}
