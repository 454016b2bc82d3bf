// The chat page (/ui) in Debian's Chromium, driven by playwright-core, against a live `smolvlm serve`
// whose store holds "tiny" (the golden tiny512 pair: vision), "texty" (the text GGUF alone), "gone"
// (deleted before it is used) and "long" (real-size random weights: replies that last, for Stop). Run by tests/cli/web_ui.sh with:
//   SMOLVLM_URL  the server, IMAGE  a 300x200 PNG (13 frames at full resolution), VIDEO  a 3 s WebM clip,
//   OUT  a scratch folder.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const URL = process.env.SMOLVLM_URL;
const IMAGE = process.env.IMAGE;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

let browser;
let page;
const problems = [];  // console errors and page errors, checked at the end
let expectNetworkErrors = false;  // while a test provokes a 4xx on purpose

const byId = (id) => page.getByTestId(id);

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  const context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expectNetworkErrors && /Failed to load resource/.test(m.text())) return;
    problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${URL}/ui`);
  await page.waitForSelector("body[data-ready=true]");
});

after(async () => {
  await browser?.close();
});

async function setOptions(values) {
  if (!(await page.locator("#settings").evaluate((d) => d.open))) await page.locator("#settings > summary").click();
  for (const [k, v] of Object.entries(values)) await page.locator(`#opt-${k}`).fill(String(v));
  await page.locator("#opt-seed").dispatchEvent("change");
}

async function replies() {
  return page.getByTestId("assistant-message").count();
}

// Waits for the reply count to reach n and the page to be idle again (Send back).
async function waitForReply(n) {
  await page.waitForFunction((k) => document.querySelectorAll("[data-testid=assistant-message]").length >= k, n);
  await page.waitForSelector("[data-testid=send-button]:not([hidden])", { timeout: 60000 });
}

test("the page is served from the binary, and / still answers API clients", async () => {
  const root = await fetch(`${URL}/`);
  assert.equal(await root.text(), "Ollama is running");
  const ui = await fetch(`${URL}/ui`);
  assert.equal(ui.status, 200);
  assert.match(ui.headers.get("content-type"), /text\/html/);
  assert.match(ui.headers.get("content-security-policy"), /script-src 'self'/);
  const js = await fetch(`${URL}/ui/app.js`);
  assert.match(js.headers.get("content-type"), /javascript/);
  const again = await fetch(`${URL}/ui/app.js`, { headers: { "If-None-Match": js.headers.get("etag") } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${URL}/ui/nope.js`)).status, 404);
});

test("the picker marks the models that can see", async () => {
  const options = await byId("model-select").locator("option").allTextContents();
  assert.ok(options.includes("tiny:latest  (vision, video)"), options.join(" | "));
  assert.ok(options.includes("texty:latest"), options.join(" | "));
  await byId("model-select").selectOption("texty:latest");
  assert.equal(await byId("model-caps").textContent(), "text only");
  await byId("model-select").selectOption("tiny:latest");
  assert.equal(await byId("model-caps").textContent(), "sees images and video");
});

test("attach by the file input and by a drop, see the cost, send, and watch the reply stream", async () => {
  await byId("attach-input").setInputFiles(IMAGE);
  const png = (await readFile(IMAGE)).toString("base64");
  await page.evaluate(async (b64) => {  // a synthetic drop of a second PNG onto the page
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
    document.querySelector("#messages").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
  }, png);
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=attachment-thumb]").length === 2);
  // 300 x 200 at full resolution: 3 x 4 tiles + the global view = 13 frames of 64 tokens, twice.
  await page.waitForFunction(() => document.querySelector("[data-testid=tile-cost]").dataset.tokens === "1664");
  await byId("max-tiles").selectOption("1");
  await page.waitForFunction(() => document.querySelector("[data-testid=tile-cost]").dataset.tokens === "128");
  await byId("max-tiles").selectOption("0");
  await page.waitForFunction(() => document.querySelector("[data-testid=tile-cost]").dataset.tokens === "1664");

  await setOptions({ temperature: 0, num_predict: 400, seed: 1 });
  // Count the renders of the reply while it streams.
  await page.evaluate(() => {
    window.__renders = 0;
    new MutationObserver(() => { window.__renders++; })
      .observe(document.querySelector("#messages"), { childList: true, subtree: true, characterData: true });
  });
  await byId("prompt-input").fill("Describe these two pictures.");
  await byId("send-button").click();
  await waitForReply(1);
  const reply = byId("assistant-message").last();
  assert.ok((await reply.locator(".content").textContent()).length > 0);
  assert.ok(await page.evaluate(() => window.__renders) > 2, "the reply was rendered as it streamed");
  // Both images went with the message, and the prompt counted their tokens.
  assert.equal(await byId("user-message").last().locator(".media img").count(), 2);
  const timings = await reply.getByTestId("timings").textContent();
  const prompt = Number(timings.match(/prompt (\d+) tokens/)[1]);
  assert.ok(prompt > 1664, timings);
  assert.match(timings, /image encode \d+\.\d\d s/);
  assert.match(timings, /first token \d+\.\d\d s/);
  assert.match(timings, /tokens\/s/);
  assert.match(timings, /CPU/);
});

test("a video goes to the server whole, and the server samples its frames", async () => {
  const n = await replies();
  await byId("attach-input").setInputFiles(process.env.VIDEO);
  // 3 s at 1 frame per second: 3 frames of 64 tokens.
  await page.waitForFunction(() => document.querySelector("[data-testid=tile-cost]").dataset.tokens === "192");
  assert.equal(await page.locator(".thumb video").count(), 1);
  await byId("prompt-input").fill("What happens?");
  await byId("send-button").click();
  await waitForReply(n + 1);
  assert.equal(await byId("user-message").last().locator(".media video").count(), 1);
  const timings = await byId("assistant-message").last().getByTestId("timings").textContent();
  assert.ok(Number(timings.match(/prompt (\d+) tokens/)[1]) > 192, timings);
  assert.match(timings, /image encode/);
});

test("keyboard: Shift+Enter adds a line, Enter sends, Esc stops a long reply; the server cancels it", async () => {
  // A text-only model in a chat that holds images: told on the page, nothing sent.
  await byId("model-select").selectOption("long:latest");
  await byId("prompt-input").fill("Hello");
  await byId("send-button").click();
  await page.waitForFunction(() => /this chat has some/.test(document.querySelector("[data-testid=error-banner]").textContent));
  assert.equal(await byId("prompt-input").inputValue(), "Hello");
  await page.getByTestId("new-chat").click();
  await byId("prompt-input").fill("");
  await setOptions({ temperature: 1, num_predict: -1 });
  const before = await replies();
  const input = byId("prompt-input");
  await input.click();
  await input.pressSequentially("Count");
  await input.press("Shift+Enter");
  await input.pressSequentially("forever");
  assert.equal(await input.inputValue(), "Count\nforever");
  await input.press("Enter");
  await page.waitForFunction((n) => {
    const r = document.querySelectorAll("[data-testid=assistant-message]");
    return r.length > n && r[r.length - 1].querySelector(".content").textContent.length > 20;
  }, before);
  assert.equal(await byId("stop-button").isVisible(), true);
  await page.keyboard.press("Escape");
  await waitForReply(before + 1);
  const reply = byId("assistant-message").last();
  assert.equal(await reply.locator(".stopped").textContent(), "stopped");
  assert.equal(await byId("stop-button").isVisible(), false);
  // The Stop button does the same.
  await input.fill("And again");
  await byId("send-button").click();
  await page.waitForFunction((n) => {
    const r = document.querySelectorAll("[data-testid=assistant-message]");
    return r.length > n + 1 && r[r.length - 1].querySelector(".content").textContent.length > 20;
  }, before);
  await byId("stop-button").click();
  await waitForReply(before + 2);
  assert.equal(await byId("assistant-message").last().locator(".stopped").count(), 1);
  await byId("model-select").selectOption("tiny:latest");
  await setOptions({ temperature: 0, num_predict: 40 });
});

test("regenerate replaces the last reply; edit resends from the edited message", async () => {
  const n = await replies();
  await byId("regenerate-button").click();
  await waitForReply(n);
  assert.equal(await replies(), n);
  assert.equal(await byId("assistant-message").last().locator(".stopped").count(), 0);
  const users = await byId("user-message").count();
  await byId("user-message").last().getByTestId("edit-button").click();
  await byId("edit-input").fill("Edited question");
  await byId("edit-save").click();
  await waitForReply(n);
  assert.equal(await byId("user-message").count(), users);
  assert.equal(await byId("user-message").last().locator(".content").textContent(), "Edited question");
});

test("the history survives a reload, and exports as JSON", async () => {
  const users = await byId("user-message").count();
  const answers = await replies();
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await byId("user-message").count(), users);
  assert.equal(await replies(), answers);
  // The first chat, with its images, from the list of saved chats.
  assert.equal(await page.getByTestId("chat-item").count(), 2);
  await page.getByTestId("chat-item").filter({ hasText: "Describe these two pictures." }).click();
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=user-message] .media img").length === 2);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-chat").click()]);
  const doc = JSON.parse(await readFile(await download.path(), "utf8"));
  assert.equal(doc.model, "tiny:latest");
  assert.equal(doc.messages[0].images.length, 2);
  assert.equal(doc.messages[0].images[0], (await readFile(IMAGE)).toString("base64"));
  assert.ok(doc.messages[1].timings.prompt_tokens > 0);
});

test("errors from the server show in the banner, and the page keeps working", async () => {
  expectNetworkErrors = true;
  await page.getByTestId("new-chat").click();
  // A corrupt image.
  await byId("attach-input").setInputFiles({ name: "broken.png", mimeType: "image/png", buffer: Buffer.from("not a png") });
  await byId("prompt-input").fill("What is this?");
  await byId("send-button").click();
  await page.waitForSelector("[data-testid=error-banner]:not([hidden])");
  assert.match(await byId("error-banner").textContent(), /failed to process image 0/);
  // The refused message is back in the composer, to be fixed; the conversation is as it was.
  assert.equal(await byId("prompt-input").inputValue(), "What is this?");
  assert.equal(await page.getByTestId("attachment-thumb").count(), 1);
  assert.equal(await byId("user-message").count(), 0);
  await page.locator(".thumb .remove").first().click();
  // A context too small for the image.
  await byId("attach-input").setInputFiles(IMAGE);
  await setOptions({ num_ctx: 256 });
  await byId("prompt-input").fill("And this?");
  await byId("send-button").click();
  await page.waitForFunction(() => /context/.test(document.querySelector("[data-testid=error-banner]").textContent) &&
    !document.querySelector("[data-testid=error-banner]").hidden);
  await page.locator(".thumb .remove").first().click();
  await setOptions({ num_ctx: "" });
  // A model removed from the store after the page listed it.
  await fetch(`${URL}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: "gone" }) });
  await byId("model-select").selectOption("gone:latest");
  await byId("prompt-input").fill("Hello?");
  await byId("send-button").click();
  await page.waitForFunction(() => /not found/.test(document.querySelector("[data-testid=error-banner]").textContent));
  await byId("prompt-input").fill("");
  // A model that cannot see, with an attachment: told before anything is sent.
  await byId("model-select").selectOption("texty:latest");
  await byId("attach-input").setInputFiles(IMAGE);
  await byId("prompt-input").fill("Can you see?");
  await byId("send-button").click();
  await page.waitForFunction(() => /cannot see images/.test(document.querySelector("[data-testid=error-banner]").textContent));
  await page.locator(".thumb .remove").first().click();
  expectNetworkErrors = false;
  // Still working: a plain question gets an answer.
  await byId("model-select").selectOption("tiny:latest");
  const n = await replies();
  await byId("prompt-input").fill("Hello");
  await byId("send-button").click();
  await waitForReply(n + 1);
  assert.equal(await byId("error-banner").isVisible(), false);
  assert.ok((await byId("assistant-message").last().getByTestId("timings").textContent()).includes("tokens/s"));
});

test("the system prompt goes with the request", async () => {
  const promptTokens = async () => {
    const n = await replies();
    await byId("prompt-input").fill("Hello");
    await byId("send-button").click();
    await waitForReply(n + 1);
    const t = await byId("assistant-message").last().getByTestId("timings").textContent();
    return Number(t.match(/prompt (\d+) tokens/)[1]);
  };
  await page.getByTestId("new-chat").click();
  if (!(await page.locator("#settings").evaluate((d) => d.open))) await page.locator("#settings > summary").click();
  const without = await promptTokens();
  await page.getByTestId("new-chat").click();
  await page.getByTestId("system-prompt").fill("You answer in one short sentence.");
  await page.getByTestId("system-prompt").dispatchEvent("change");
  const withSystem = await promptTokens();
  assert.ok(withSystem > without, `prompt tokens ${withSystem} with the system prompt, ${without} without`);
  await page.getByTestId("system-prompt").fill("");
  await page.getByTestId("system-prompt").dispatchEvent("change");
});

test("readable on a phone-width screen", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  for (const id of ["prompt-input", "send-button", "model-select", "attach-input"]) {
    const box = await byId(id).boundingBox();
    if (id !== "attach-input") assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${id} is on screen`);
  }
  await page.screenshot({ path: `${process.env.OUT}/phone.png` });
});

test("no console errors", () => {
  assert.deepEqual(problems, []);
});
