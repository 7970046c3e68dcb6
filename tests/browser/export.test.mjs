// Export and import in the browser (docs/api.md, "GET /boards/:id/export", "POST /boards/import";
// web/js/views/export.js): from a board card of the boards list, Export saves the board with its
// history (JSON), its notes (CSV) and a picture (SVG drawn in the page); Import board sends the
// saved JSON file and opens the new board, which has the same notes.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { launch, withTracker, apiOk, userContext, BASE } from "./lib.mjs";

const SECOND = 1000;

describe("export and import from the boards list", () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  test("a board is exported as JSON, CSV and SVG, and the JSON imported again is the same board", async (t) => {
    await withTracker(t, browser, async (tr) => {
      const alice = await userContext(tr, browser, "alice");
      const board = await apiOk(alice.ctx, "POST", "/boards", { title: "Retro" });
      await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "Went well, mostly", x: 40, y: 40 });
      await apiOk(alice.ctx, "POST", `/boards/${board.id}/items`, { text: "=not a formula", x: 300, y: 40, color: "#b3e5fc" });
      const page = await alice.ctx.newPage();
      await page.goto(`${BASE}#/boards`);
      const card = page.locator(`[data-testid="board-card"][data-board-id="${board.id}"]`);
      await card.waitFor({ timeout: 10 * SECOND });

      const saved = async (testid) => {
        await card.getByTestId("board-export").locator("summary").click();
        const [download] = await Promise.all([page.waitForEvent("download"), card.getByTestId(testid).click()]);
        return { name: download.suggestedFilename(), path: await download.path() };
      };
      const json = await saved("export-json");
      assert.equal(json.name, `board-${board.id}.json`);
      const doc = JSON.parse(fs.readFileSync(json.path, "utf8"));
      assert.equal(doc.format, "teamboard-export");
      assert.deepEqual(doc.notes.map((n) => n.text), ["Went well, mostly", "=not a formula"]);
      assert.deepEqual(doc.events.map((e) => e.type), ["item.created", "item.created"]);

      const csv = await saved("export-csv");
      assert.equal(csv.name, `board-${board.id}.csv`);
      const lines = fs.readFileSync(csv.path, "utf8").split("\r\n");
      assert.equal(lines[0], "text,color,x,y,width,height,author,updated");
      assert.match(lines[1], new RegExp(`^"Went well, mostly",#fff59d,40,40,200,150,${alice.name},`));
      assert.match(lines[2], /^"'=not a formula",#b3e5fc,300,40,/);

      const svg = await saved("export-svg");
      assert.equal(svg.name, `board-${board.id}.svg`);
      const picture = fs.readFileSync(svg.path, "utf8");
      assert.match(picture, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(picture, /<title>Retro<\/title>/);
      assert.equal((picture.match(/<rect /g) || []).length, 3, "the background and two notes");
      assert.match(picture, /fill="#b3e5fc"/);
      assert.match(picture, />=not a formula</);

      // Import board: the saved JSON becomes a new board, opened at once with the same notes.
      const imported = page.waitForResponse((r) => r.url().endsWith("/boards/import"));
      await page.getByTestId("import-file").setInputFiles(json.path);
      const resp = await imported;
      assert.equal(resp.status(), 201);
      const id = Number(new URL(resp.headers().location, BASE).pathname.split("/").pop());
      assert.notEqual(id, board.id);
      await page.waitForURL(new RegExp(`#/boards/${id}$`), { timeout: 10 * SECOND });
      await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15 * SECOND });
      const texts = await page.$$eval('[data-testid="note"] [data-testid="note-text"]', (els) => els.map((e) => e.textContent));
      assert.deepEqual(texts.sort(), ["=not a formula", "Went well, mostly"]);
    });
  });
});
