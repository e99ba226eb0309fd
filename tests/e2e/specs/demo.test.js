// Demo mode: no key, no RunPod, the whole flow against the built-in stand-ins.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { until } from "selenium-webdriver";
import { byTest, dropFiles, makeMedia, screenshot, startDriver, tempDir, textOf, videoPlays } from "../lib/harness.js";

const dataDir = tempDir("studio-e2e-demo-");
const mediaDir = tempDir("studio-e2e-demo-media-");
let host;
let media;

before(async () => {
  media = makeMedia(mediaDir);
  // Real RunPod addresses on purpose: demo mode must not use them.
  host = await startDriver({
    STUDIO_DATA_DIR: dataDir,
    STUDIO_DEMO: "1",
    RUNPOD_API_KEY: "",
    STUDIO_RUNPOD_API_URL: "http://127.0.0.1:9/v2",
  });
});

after(async () => {
  await host?.stop();
});

test("demo mode renders with no key against the built-in stand-ins", async () => {
  const driver = await host.open();
  try {
    assert.match(await textOf(driver, "demo-banner"), /Demo mode/);
    await dropFiles(driver, [media.photo, media.video]);
    assert.match(await textOf(driver, "estimate", 30_000), /Demo: nothing is billed/);
    await driver.findElement(byTest("render-button")).click();
    await driver.findElement(byTest("render-confirm-yes")).click();
    await driver.wait(until.elementLocated(byTest("render-progress")), 10_000);
    await driver.wait(async () => /Generating/.test(await textOf(driver, "render-stage")), 60_000, "generating starts");
    assert.match(await textOf(driver, "live-cost"), /simulated/);
    await screenshot(driver, "demo-progress");
    const result = await driver.wait(until.elementLocated(byTest("render-result")), 120_000);
    await driver.wait(until.elementIsVisible(result), 5_000);
    assert.match((await videoPlays(driver, "result-video", { playing: true })).src, /SteadyDancer_\d{4}-\d\d-\d\d_[0-9a-f]{8}\.mp4$/);
    assert.match(await textOf(driver, "result-cost"), /Demo: nothing was billed/);
    await driver.findElement(byTest("nav-gallery")).click();
    await driver.wait(until.elementLocated(byTest("gallery-item")), 10_000);
  } finally {
    await driver.quit();
  }
});
