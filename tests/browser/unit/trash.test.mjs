// Unit test of the trash's words (web/js/trash.js): how long a deleted board is kept, from the
// purge_at the server gives (never a number of days assumed by the client). node --test, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { keptFor, deleteBoardQuestion } from "../../../web/js/trash.js";

const DAY = 86400000;

test("keptFor: the days until purge_at, a time on the last day, no limit without purge_at", () => {
  const now = Date.parse("2026-12-04T10:00:00Z");
  const at = (ms) => new Date(now + ms).toISOString();
  assert.match(keptFor(at(30 * DAY), now), /^for 30 days \(until .+\)$/);
  assert.match(keptFor(at(7 * DAY - 1000), now), /^for 7 days /);
  assert.match(keptFor(at(DAY), now), /^for 1 day \(/);
  assert.match(keptFor(at(3 * 3600000), now), /^until /);
  assert.equal(keptFor(null, now), "with no time limit");
  assert.equal(keptFor("not a date", now), "");
});

test("deleteBoardQuestion says the board goes to the trash", () => {
  assert.match(deleteBoardQuestion("Roadmap"), /“Roadmap”.*goes to the trash/);
});
