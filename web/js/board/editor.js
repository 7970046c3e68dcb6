// Editing a note's text in place: a textarea replaces the text; Ctrl/⌘+Enter or leaving it
// saves, Escape cancels. install(B) adds startEdit and finishEdit to the board context B;
// B.editing is {id, base, textarea} while an editor is open.
import { h } from "../ui.js";

export function install(B) {
  Object.assign(B, { startEdit, finishEdit });

  function startEdit(id) {
    if (!B.canEdit() || (B.editing && B.editing.id === id)) return;
    if (B.editing) finishEdit(true);
    const it = B.items.get(id);
    const el = B.els.get(id);
    if (!it || !el) return;
    const ta = h("textarea", { class: "note-input", "aria-label": "Note text", "data-testid": "note-input", maxlength: 10000, spellcheck: "true" });
    ta.value = it.text;
    B.editing = { id, base: { ...it }, textarea: ta };
    el.classList.add("note-editing");
    el._text.replaceWith(ta);
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
    const el = B.els.get(id);
    const text = textarea.value;
    if (el) {
      el.classList.remove("note-editing");
      textarea.replaceWith(el._text);
      el._text.textContent = save ? text : (B.items.get(id) || base).text;
      if (keepFocus) el.focus();
    }
    if (save && text !== base.text) {
      if (!B.items.has(id)) {
        if (text) B.recreate(base, { text });
        return;
      }
      B.commit(id, { text }, base);
    } else if (el) {
      B.renderNote(id);
    }
  }
}
