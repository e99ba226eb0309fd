// The product path in the real window against the stand-in RunPod and stand-in ComfyUI: key,
// files, estimate, render with its stages, the result playing, the gallery with its cost, and
// the stand-in's billing clock showing the pod gone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { By, until } from "selenium-webdriver";
import { byTest, dropFiles, makeMedia, screenshot, startDriver, tempDir, textOf, videoPlays } from "../lib/harness.js";
import { startStandins } from "../lib/standins.js";

const KEY = "rpa_E2E_RENDER_KEY_0042";
const dataDir = tempDir("studio-e2e-render-");
const mediaDir = tempDir("studio-e2e-render-media-");
let standins;
let host;
let media;

before(async () => {
  media = makeMedia(mediaDir);
  standins = await startStandins({ key: KEY });
  host = await startDriver({ ...standins.env, STUDIO_DATA_DIR: dataDir, RUNPOD_API_KEY: "" });
});

after(async () => {
  await host?.stop();
  standins?.stop();
});

async function saveKey(driver, key) {
  await driver.findElement(byTest("nav-settings")).click();
  await driver.wait(until.elementLocated(byTest("api-key-section")), 10_000);
  const replace = await driver.findElements(byTest("key-replace"));
  if (replace.length) await replace[0].click();
  const input = await driver.wait(until.elementLocated(byTest("key-input")), 10_000);
  await input.sendKeys(key);
  await driver.findElement(byTest("key-save")).click();
}

test("a wrong key is refused at once, the right one is kept", async () => {
  const driver = await host.open();
  try {
    await saveKey(driver, "rpa_THIS_KEY_IS_WRONG_1111");
    assert.match(await textOf(driver, "key-error"), /key/i);
    const input = await driver.findElement(byTest("key-input"));
    await input.clear();
    await input.sendKeys(KEY);
    await driver.findElement(byTest("key-save")).click();
    assert.equal(await textOf(driver, "key-mask"), "••••••••0042");
  } finally {
    await driver.quit();
  }
});

test("render on a pod: estimate, stages, result, gallery, and no pod left billing", async () => {
  const driver = await host.open();
  try {
    await dropFiles(driver, [media.photo, media.video]);
    const estimate = await textOf(driver, "estimate", 30_000).catch(async (e) => {
      await screenshot(driver, "estimate-missing");
      const errors = await driver.findElements(byTest("plan-error"));
      throw new Error(`${e.message}; plan error: ${errors.length ? await errors[0].getText() : "none"}`);
    });
    assert.match(estimate, /estimated \$\d+\.\d+/);
    await driver.findElement(byTest("render-button")).click();
    await driver.findElement(byTest("render-confirm-yes")).click();

    await driver.wait(until.elementLocated(byTest("render-progress")), 10_000);
    await screenshot(driver, "progress");
    const result = await driver.wait(until.elementLocated(byTest("render-result")), 180_000);
    await driver.wait(until.elementIsVisible(result), 5_000);
    // The result plays in the window. WebKitGTK cannot play video from the asset: scheme, so the
    // app serves the file over loopback HTTP, with byte ranges, under a per-run token.
    const played = await videoPlays(driver, "result-video", { playing: true });
    const src = new URL(played.src);
    assert.equal(src.hostname, "127.0.0.1");
    assert.match(src.pathname, /^\/[0-9a-f]{32}\/\d+\/SteadyDancer_\d{4}-\d\d-\d\d_[0-9a-f]{8}\.mp4$/);
    const whole = await fetch(src);
    assert.equal(whole.status, 200);
    const size = (await whole.arrayBuffer()).byteLength;
    assert.ok(size > 10_000, `a real video file is served (${size} bytes)`);
    const part = await fetch(src, { headers: { Range: "bytes=100-199" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), `bytes 100-199/${size}`);
    assert.equal((await part.arrayBuffer()).byteLength, 100);
    const guessed = new URL(src);
    guessed.pathname = src.pathname.replace(/^\/[0-9a-f]{32}/, "/" + "0".repeat(32));
    assert.equal((await fetch(guessed)).status, 404, "without the token nothing is served");
    assert.match(await textOf(driver, "result-cost"), /Cost \$\d/);
    await screenshot(driver, "result");

    const billing = await standins.billing();
    assert.equal(billing.pods.length, 1, "one pod was made");
    assert.equal(billing.billing, 0, `no pod is billing: ${JSON.stringify(billing)}`);

    await driver.findElement(byTest("nav-gallery")).click();
    const item = await driver.wait(until.elementLocated(byTest("gallery-item")), 10_000);
    assert.match(await (await driver.findElement(byTest("gallery-cost"))).getText(), /\$\d/);
    await screenshot(driver, "gallery");
    await item.click();
    await videoPlays(driver, "gallery-video");
    const detail = await textOf(driver, "gallery-detail");
    const teardown = detail.match(/Shutting the GPU down\s*([\d.]+) s/);
    assert.ok(teardown, `the stage split lists the teardown: ${detail}`);
    assert.ok(Number(teardown[1]) < 3, `the pod was terminated within 3 s of verification (${teardown[1]} s)`);
    assert.ok(detail.includes("Checking the result"), "verification is in the split");
  } finally {
    await driver.quit();
  }
});

test("render on the user's own ComfyUI: no pod, no cost", async () => {
  const driver = await host.open();
  try {
    await driver.findElement(byTest("nav-settings")).click();
    await driver.wait(until.elementLocated(byTest("target-comfy")), 10_000).click();
    const url = await driver.wait(until.elementLocated(byTest("comfy-url")), 5_000);
    await url.clear();
    await url.sendKeys(standins.comfyUrl);
    await driver.findElement(byTest("settings-save")).click();
    await textOf(driver, "settings-saved");

    await driver.findElement(byTest("nav-create")).click();
    const again = await driver.findElements(byTest("render-again"));
    if (again.length) await again[0].click();
    await dropFiles(driver, [media.photo, media.video]);
    assert.match(await textOf(driver, "estimate", 30_000), /your ComfyUI at/);
    await driver.findElement(byTest("render-button")).click();
    await driver.findElement(byTest("render-confirm-yes")).click();
    const result = await driver.wait(until.elementLocated(byTest("render-result")), 120_000);
    await driver.wait(until.elementIsVisible(result), 5_000);
    assert.match(await textOf(driver, "result-cost"), /Cost \$0\.000/);
    const billing = await standins.billing();
    assert.equal(billing.pods.length, 1, "no new pod was made for the own-ComfyUI render");
  } finally {
    await driver.quit();
  }
});
