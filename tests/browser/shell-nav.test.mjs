// The shell's navigation: a link opened while signed out leads there after sign-in (and after
// sign-up); focus moves to the page heading after each navigation (screen readers say where
// they are).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  launch, withTracker, apiOk, userContext, uniqueName, signInForm, within, PASSWORD, BASE,
} from "./lib.mjs";

describe("shell: sign-in returns to the link, focus on headings", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  const focused = (page) => page.evaluate(() => {
    const a = document.activeElement;
    return a ? `${a.tagName}:${a.textContent.trim().slice(0, 40)}` : "";
  });

  test("a board link opened while signed out lands on that board after sign-in", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const alice = await userContext(tr, browser, "alice");
      const board = await apiOk(alice.ctx, "POST", "/boards", { title: "Linked board" });
      // The same person in another browser, signed out.
      const ctx = await tr.newContext(browser);
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/boards/${board.id}`);
      await page.waitForFunction(() => location.hash === "#/signin");
      await signInForm(page, alice.name);
      await page.waitForFunction((id) => location.hash === `#/boards/${id}`, board.id, { timeout: 10000 });
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
      // Once only: signing out and in again leads to the boards list.
      await page.getByTestId("signout").click();
      await page.waitForFunction(() => location.hash === "#/signin");
      await signInForm(page, alice.name);
      await page.waitForFunction(() => location.hash === "#/boards", null, { timeout: 10000 });
    });
  });

  test("a team link opened while signed out lands there after sign-up", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const ctx = await tr.newContext(browser);
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/teams`);
      await page.waitForFunction(() => location.hash === "#/signin");
      await page.getByTestId("to-signup").click();
      await page.waitForFunction(() => location.hash === "#/signup");
      await signInForm(page, uniqueName("newbie"), PASSWORD);
      await page.waitForFunction(() => location.hash === "#/teams", null, { timeout: 10000 });
      await page.getByTestId("new-team-name").waitFor();
    });
  });

  test("a link to somewhere else (not a page of the app) is not followed after sign-in", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const alice = await userContext(tr, browser, "alice");
      const ctx = await tr.newContext(browser);
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/boards/12/../../evil`);
      await page.waitForFunction(() => location.hash === "#/signin");
      await signInForm(page, alice.name);
      await page.waitForFunction(() => location.hash === "#/boards", null, { timeout: 10000 });
    });
  });

  test("focus moves to the page heading after sign-in, on the boards list, the teams list and a team page", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const alice = await userContext(tr, browser, "alice");
      const team = await apiOk(alice.ctx, "POST", "/teams", { name: "Focus team" });
      const ctx = await tr.newContext(browser);
      const page = await ctx.newPage();
      await page.goto(`${BASE}#/signin`);
      await signInForm(page, alice.name);
      await page.waitForFunction(() => location.hash === "#/boards");
      await within(page, 5000, () => document.activeElement && document.activeElement.tagName === "H1", null, "focus on the boards heading");
      assert.equal(await focused(page), "H1:Boards");
      await page.locator('nav a[href="#/teams"]').click();
      await within(page, 5000, () => document.activeElement && document.activeElement.textContent === "Teams" && document.activeElement.tagName === "H1", null, "focus on the teams heading");
      await page.getByTestId("team-link").first().click();
      await within(page, 5000, (name) => document.activeElement && document.activeElement.tagName === "H1" && document.activeElement.textContent === name, team.name, "focus on the team's heading");
      // The keyboard goes on from there: Tab reaches the page's first control after the heading.
      await page.keyboard.press("Tab");
      assert.notEqual(await focused(page), "BODY:");
    });
  });
});
