// Unit test of the error sentences (web/js/errors.js): a reply's figure is used when it has one.
// node --test, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeError } from "../../../web/js/errors.js";

test("too_many_changes names the server's max_changes; without it, no figure is made up", () => {
  assert.equal(describeError("too_many_changes", "", 409, { error: "too_many_changes", max_changes: 5000 }),
    "That version differs from the board in more than 5,000 notes. Restore a version in between first.");
  assert.equal(describeError("too_many_changes", "", 409, { max_changes: 12 }),
    "That version differs from the board in more than 12 notes. Restore a version in between first.");
  for (const body of [null, {}, { max_changes: "5000" }, { max_changes: 0 }, { max_changes: 1.5 }]) {
    assert.equal(describeError("too_many_changes", "", 409, body),
      "That version differs from the board in too many notes. Restore a version in between first.");
  }
});

test("other codes keep their sentence whatever the body", () => {
  assert.equal(describeError("busy", "", 503, { max_changes: 3 }), "The server is busy; try again in a moment.");
  assert.equal(describeError("invalid", "x: must be an integer", 422, null), "Position: must be an integer.");
  assert.match(describeError("nope", "", 418), /HTTP 418/);
});
