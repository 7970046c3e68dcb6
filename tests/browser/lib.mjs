// Shared helpers for the browser tests: Debian's Chromium driven by playwright-core (no browser
// download), the server under test, users made through the API, console-error tracking,
// screenshots and the database (to kill a stream); the web server and REST pool switched off and
// on (webctl), sign-in through the form, and axe-core's serious and critical findings on a page.
// The network cut for the outbox tests is cutproxy.mjs.
//
// Environment:
//   TB_BASE_URL   the running Teamboard, e.g. http://127.0.0.1:8091/ (run.sh sets it)
//   TB_PSQL       command prefix that runs psql as a superuser on its database, e.g.
//                 "python3 tools/tbenv psql --state-dir DIR --user postgres --"
//   TB_DB_DSN     else: a libpq connection string for psql
//   TB_CHROMIUM   the browser (default /usr/bin/chromium)
//   TB_HEADED=1   show the browser (needs a display)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = process.env.TB_BROWSER_ARTIFACTS || path.join(here, "artifacts");
export const BASE = (process.env.TB_BASE_URL || "http://127.0.0.1:8080/").replace(/\/?$/, "/");
export const ORIGIN = new URL(BASE).origin;
export const PASSWORD = "correct horse battery";

const LAUNCH_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage",
];

export async function launch() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // playwright-core's launch() starts Chromium on a fresh temporary profile (its own
  // --user-data-dir, removed on close); each test's contexts are isolated within it.
  return chromium.launch({
    executablePath: process.env.TB_CHROMIUM || "/usr/bin/chromium",
    headless: process.env.TB_HEADED !== "1",
    args: LAUNCH_ARGS,
    timeout: 60000,
  });
}

// A user name not taken yet, short enough to look right in screenshots: alice-k3f9q.
export function uniqueName(prefix) {
  let tail = "";
  while (tail.length < 5) tail += "abcdefghijkmnpqrstuvwxyz23456789"[Math.floor(Math.random() * 32)];
  return `${prefix}-${tail}`;
}

// Console errors and uncaught exceptions of every page fail the test, except the ones a test
// expects (e.g. "Failed to load resource: ... 412" in the conflict test).
export class Tracker {
  constructor(name) {
    this.name = name;
    this.errors = [];
    this.allowed = [];
    this.contexts = [];
  }
  allow(re) {
    this.allowed.push(re);
  }
  watch(page) {
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      const loc = m.location();
      const text = `${m.text()}${loc && loc.url ? ` (${loc.url})` : ""}`;
      this.errors.push(`console.error: ${text}`);
    });
    page.on("pageerror", (e) => this.errors.push(`pageerror: ${e.stack || e.message}`));
    return page;
  }
  unexpected() {
    return this.errors.filter((e) => !this.allowed.some((re) => re.test(e)));
  }
  async newContext(browser, opts = {}) {
    const ctx = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 800 }, ...opts });
    ctx.on("page", (p) => this.watch(p));
    this.contexts.push(ctx);
    return ctx;
  }
  async close() {
    for (const c of this.contexts) await c.close().catch(() => {});
    this.contexts = [];
  }
}

// Runs fn with a fresh Tracker; closes its contexts; fails on unexpected console errors.
export async function withTracker(t, browser, fn) {
  const tr = new Tracker(t.name);
  try {
    await fn(tr);
  } catch (e) {
    for (const [i, c] of tr.contexts.entries()) {
      for (const [j, p] of c.pages().entries()) {
        await p.screenshot({ path: path.join(ARTIFACTS, `FAILED-${slug(t.name)}-${i}-${j}.png`) }).catch(() => {});
      }
    }
    if (tr.errors.length) e.message += `\nconsole errors:\n${tr.errors.join("\n")}`;
    throw e;
  } finally {
    await tr.close();
  }
  const bad = tr.unexpected();
  assert.deepEqual(bad, [], `console errors in "${t.name}"`);
}

export function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// ---- the API from Node, through a context's request (it shares the context's cookies)
export async function apiCall(ctx, method, p, data, headers = {}) {
  // Connection: close: a reused keep-alive socket that the web server is closing as idle just
  // then would fail the call with ECONNRESET (seen with lighttpd's 5 s keep-alive idle).
  const r = await ctx.request.fetch(`${BASE}api/v1${p}`, {
    method, data, headers: { Origin: ORIGIN, Connection: "close", ...headers }, failOnStatusCode: false,
  });
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  return { status: r.status(), body };
}

export async function apiOk(ctx, method, p, data, headers) {
  const r = await apiCall(ctx, method, p, data, headers);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// A new user, signed in in ctx (cookie), whose pages start signed in.
export async function userContext(tr, browser, prefix = "user", opts = {}) {
  const ctx = await tr.newContext(browser, opts);
  const name = uniqueName(prefix);
  await apiOk(ctx, "POST", "/users", { name, password: PASSWORD });
  const s = await apiOk(ctx, "POST", "/sessions", { name, password: PASSWORD });
  // The app asks GET /me only when this browser has signed in before (see web/js/app.js).
  await ctx.addInitScript(() => {
    try {
      if (location.protocol.startsWith("http") && !sessionStorage.getItem("tb-test-init")) {
        sessionStorage.setItem("tb-test-init", "1");
        localStorage.setItem("teamboard.signedIn", "1");
      }
    } catch (_) { /* about:blank */ }
  });
  return { ctx, name, user: s.user };
}

// A team board for a test's people: alice makes the team and its board; each name of members joins
// the team with its role ({ bob: "editor", carol: "viewer" }; its membership in .member); alice
// makes the notes. Returns { alice, bob, ..., team, board, items }.
export async function teamBoard(tr, browser, { members = { bob: "editor" }, title = "Team board", notes = [] } = {}) {
  const people = { alice: await userContext(tr, browser, "alice") };
  const { alice } = people;
  const team = await apiOk(alice.ctx, "POST", "/teams", { name: `Team ${alice.name}` });
  for (const [prefix, role] of Object.entries(members)) {
    people[prefix] = await userContext(tr, browser, prefix);
    people[prefix].member = await apiOk(alice.ctx, "POST", `/teams/${team.id}/members`, { name: people[prefix].name, role });
  }
  const board = await apiOk(alice.ctx, "POST", "/boards", { title, team_id: team.id });
  const items = [];
  for (const n of notes) items.push(await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, n));
  return { ...people, team, board, items };
}

export async function openBoard(ctx, boardId) {
  const page = await ctx.newPage();
  await page.goto(`${BASE}#/boards/${boardId}`);
  await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
  return page;
}

export function note(page, id) {
  return page.locator(`[data-testid="note"][data-id="${id}"]`);
}

export async function noteBox(page, id) {
  return note(page, id).evaluate((el) => ({
    x: parseInt(el.style.left, 10), y: parseInt(el.style.top, 10),
    w: parseInt(el.style.width, 10), h: parseInt(el.style.height, 10),
    color: el.dataset.color, text: el.querySelector('[data-testid="note-text"]')?.textContent ?? null,
    version: Number(el.dataset.version), z: Number(el.style.zIndex),
  }));
}

// Waits until fn() (run in the page) is truthy; fails after ms with msg.
export async function within(page, ms, fn, arg, msg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 25 });
  } catch (e) {
    throw new Error(`${msg || "condition"} not met within ${ms} ms`);
  }
}

// ---- the database (superuser psql)
export function psqlAvailable() {
  return Boolean(process.env.TB_PSQL || process.env.TB_DB_DSN);
}

export function sql(query) {
  let cmd;
  let args;
  if (process.env.TB_PSQL) {
    const parts = process.env.TB_PSQL.split(/\s+/).filter(Boolean);
    cmd = parts[0];
    args = [...parts.slice(1), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query];
  } else {
    cmd = "psql";
    args = [process.env.TB_DB_DSN, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query];
  }
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30000 });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr || r.error}`);
  return r.stdout.trim();
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(fn, ms, msg) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(50);
  }
  throw new Error(`${msg || "condition"} not met within ${ms} ms (last: ${JSON.stringify(last)})`);
}

// ---- the environment's web server / REST pool (tests/browser/webctl.py via TB_WEBCTL)
export function webctl(action) {
  const parts = process.env.TB_WEBCTL.split(/\s+/).filter(Boolean);
  const r = spawnSync(parts[0], [...parts.slice(1), action], { encoding: "utf8", timeout: 60000 });
  if (r.status !== 0) throw new Error(`webctl ${action} failed: ${r.stderr || r.error}`);
}

// Signs in through the form on the page (which shows the sign-in page).
export async function signInForm(page, name, password = PASSWORD) {
  await page.getByTestId("auth-name").fill(name);
  await page.getByTestId("auth-password").fill(password);
  await page.getByTestId("auth-submit").click();
}

// ---- axe-core (npm) in the page: the serious and critical violations, as readable lines.
const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE });
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
  return res.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} [${v.nodes.join(", ")}]`);
}
