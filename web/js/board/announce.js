// Remote changes read out to screen-reader users: one polite live region on the board, fed by
// the live events of other people, batched per person over a short window ("Sam moved
// 'Idea 5'"; "3 changes by Sam"). install(B) adds announceChange(actor, old, item, kind) and
// say(text) to the board context B.
import { h } from "../ui.js";
import { shortText } from "./state.js";

const BATCH_MS = 1200;

// What a change did, in words: "moved 'Idea 5'".
export function changeWords(old, it, kind) {
  const name = (x) => (shortText(x) ? `'${shortText(x)}'` : "a note");
  if (kind === "deleted") return `deleted ${name(old || it)}`;
  if (!old) return `added ${name(it)}`;
  if (old.text !== it.text) return `edited ${name(it)}`;
  if (old.x !== it.x || old.y !== it.y) return `moved ${name(it)}`;
  if (old.width !== it.width || old.height !== it.height) return `resized ${name(it)}`;
  if (old.color !== it.color) return `recoloured ${name(it)}`;
  if (old.z !== it.z) return `brought ${name(it)} to the front`;
  return `changed ${name(it)}`;
}

export function install(B) {
  Object.assign(B, { announceChange, say });
  B.announcer = h("div", { class: "sr-only", role: "status", "aria-live": "polite", "data-testid": "board-announcer" });
  B.root.append(B.announcer);
  const batch = new Map();  // actor -> [words]
  let timer = null;

  function announceChange(actor, old, it, kind) {
    const who = actor || "Someone";
    if (!batch.has(who)) batch.set(who, []);
    batch.get(who).push(changeWords(old, it, kind));
    if (!timer) timer = setTimeout(flush, BATCH_MS);
  }

  function flush() {
    timer = null;
    const parts = [];
    for (const [who, list] of batch) parts.push(list.length === 1 ? `${who} ${list[0]}` : `${list.length} changes by ${who}`);
    batch.clear();
    if (parts.length) say(parts.join(". ") + ".");
  }

  function say(text) {
    if (B.gone) return;
    B.announcer.textContent = text;
    const tb = (window.__teamboard = window.__teamboard || { liveLog: [], resets: 0 });
    (tb.announced = tb.announced || []).push(text);
  }
}
