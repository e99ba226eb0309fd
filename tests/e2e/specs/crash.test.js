// The app is killed (SIGKILL) while the GPU is generating. Its crash guard (a windowless copy
// of the app that outlives it) finishes the render and terminates the pod at once, with no
// restart. If the guard dies too (as when the computer loses power), the next start resumes the
// render from the journal, finishes it, and no pod is left billing. The system ending the app
// (SIGTERM, as at log-out or shut-down) stops the render and terminates its pod before the
// process goes. (A kill while downloading needs a slower download than the stand-in serves here;
// crates/jobs/tests/sigkill.rs covers it with a real SIGKILL of a process running the same engine.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { until } from "selenium-webdriver";
import { appPids, byTest, dropFiles, exited, makeMedia, screenshot, startDriver, tempDir, textOf } from "../lib/harness.js";
import { startStandins } from "../lib/standins.js";

const KEY = "rpa_E2E_CRASH_KEY_5150";
const mediaDir = tempDir("studio-e2e-crash-media-");
let standins;
let media;

before(async () => {
  media = makeMedia(mediaDir);
  // Slow sampling so the kill lands while the GPU is generating.
  standins = await startStandins({ key: KEY, stepMs: 1500 });
});

after(() => standins?.stop());

async function renderUntil(host, stageLabel) {
  const driver = await host.open();
  await dropFiles(driver, [media.photo, media.video]);
  await textOf(driver, "estimate", 30_000);
  await driver.findElement(byTest("render-button")).click();
  await driver.findElement(byTest("render-confirm-yes")).click();
  await driver.wait(async () => (await textOf(driver, "render-stage")).includes(stageLabel), 60_000, `reaches ${stageLabel}`);
  return driver;
}

/// A fresh data folder and app for one test; `body(host, dataDir)`.
async function withApp(prefix, body) {
  const dataDir = tempDir(prefix);
  const host = await startDriver({ ...standins.env, STUDIO_DATA_DIR: dataDir, RUNPOD_API_KEY: KEY });
  try {
    await body(host, dataDir);
  } finally {
    await host.stop();
  }
}

/// Opens the app again: it says the interrupted render was finished, and the gallery has it.
async function galleryShowsIt(host, ms) {
  const again = await host.open();
  try {
    assert.match(await textOf(again, "recovered-banner", ms), /ended unexpectedly.*finished in the background/);
    await screenshot(again, "recovered-banner");
    await again.findElement(byTest("recovered-gallery")).click();
    await again.wait(until.elementLocated(byTest("gallery-item")), 10_000, "the render is in the gallery");
  } finally {
    await again.quit();
  }
}

test("killed with its crash guard while generating: the next start finishes the render and nothing bills", () =>
  withApp("studio-e2e-crash-", async (host, dataDir) => {
    const before = (await standins.billing()).pods.length;
    const driver = await renderUntil(host, "Generating");
    for (const pid of [...appPids(dataDir, { guard: true }), ...appPids(dataDir)]) process.kill(pid, "SIGKILL");
    await driver.quit().catch(() => undefined);
    assert.equal((await standins.billing()).pods.length, before + 1, "the render made one pod");

    await galleryShowsIt(host, 120_000);
    for (let i = 0; i < 50 && (await standins.billing()).billing > 0; i++) await sleep(200);
    const billing = await standins.billing();
    assert.equal(billing.billing, 0, `no pod is left billing: ${JSON.stringify(billing)}`);
  }));

test("killed while generating: the crash guard finishes the render and terminates the pod, no restart needed", () =>
  withApp("studio-e2e-guard-", async (host, dataDir) => {
    const made = (await standins.billing()).pods.length + 1;
    const driver = await renderUntil(host, "Generating");
    const guard = appPids(dataDir, { guard: true });
    for (const pid of appPids(dataDir)) process.kill(pid, "SIGKILL");
    await driver.quit().catch(() => undefined);

    assert.ok(await exited(guard, 120_000), "the guard finishes and exits");
    const billing = await standins.billing();
    assert.equal(billing.pods.length, made, "no new pod was made");
    assert.equal(billing.billing, 0, `no pod bills: ${JSON.stringify(billing)}`);
    const outputs = readdirSync(join(dataDir, "renders")).filter((f) => /^SteadyDancer_\d{4}-\d\d-\d\d_[0-9a-f]{8}\.mp4$/.test(f));
    assert.equal(outputs.length, 1, `the guard downloaded the result: ${outputs}`);
    await galleryShowsIt(host, 30_000);
  }));

test("the system ends the app while generating: the pod is terminated before the process exits", () =>
  withApp("studio-e2e-sigterm-", async (host, dataDir) => {
    const driver = await renderUntil(host, "Generating");
    let billing = await standins.billing();
    assert.equal(billing.billing, 1, `the render's pod bills while generating: ${JSON.stringify(billing)}`);
    const made = billing.pods.length;

    const pids = appPids(dataDir);
    for (const pid of pids) process.kill(pid, "SIGTERM");
    assert.ok(await exited(pids, 60_000), "the app exits within 60 s of SIGTERM");
    // Read at once: the pod must already be gone when the process is, not later by a sweep.
    billing = await standins.billing();
    assert.equal(billing.billing, 0, `no pod bills once the app has exited: ${JSON.stringify(billing)}`);
    await driver.quit().catch(() => undefined);

    // The stopped render is not resumed on the next start: no new pod is made for it.
    const again = await host.open();
    try {
      await again.findElement(byTest("nav-pods")).click();
      await sleep(3000);
      billing = await standins.billing();
      assert.equal(billing.pods.length, made, "the next start made no pod");
      assert.equal(billing.billing, 0, "and nothing bills");
    } finally {
      await again.quit();
    }
  }));
