// The Pods screen against the stand-in RunPod: start a warm pod, watch it get ready, see it
// listed with its cost, terminate it, and the billing clock stops. A warm pod left running when
// the system ends the app (SIGTERM) is terminated before the process exits; when the app is
// killed outright (SIGKILL), its crash guard terminates it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { until } from "selenium-webdriver";
import { appPids, byTest, exited, screenshot, startDriver, tempDir, textOf } from "../lib/harness.js";
import { startStandins } from "../lib/standins.js";

const KEY = "rpa_E2E_PODS_KEY_7731";
const dataDir = tempDir("studio-e2e-pods-");
let standins;
let host;

before(async () => {
  standins = await startStandins({ key: KEY });
  host = await startDriver({ ...standins.env, STUDIO_DATA_DIR: dataDir, RUNPOD_API_KEY: KEY });
});

after(async () => {
  await host?.stop();
  standins?.stop();
});

async function startWarmPod(driver) {
  await driver.findElement(byTest("nav-pods")).click();
  await textOf(driver, "pods-empty");
  await driver.findElement(byTest("pod-start")).click();
  await textOf(driver, "pod-starting");
  const row = await driver.wait(until.elementLocated(byTest("pod-row")), 60_000);
  await driver.wait(until.elementIsVisible(row), 5_000);
  await driver.wait(async () => (await driver.findElements(byTest("pod-starting"))).length === 0, 60_000, "the start finishes");
}

test("start a warm pod, see it billing, terminate it", async () => {
  const driver = await host.open();
  try {
    await startWarmPod(driver);
    assert.match(await textOf(driver, "pod-status"), /RUNNING/);
    assert.match(await textOf(driver, "pod-cost"), /\$\d/);
    // A pod you started stops by itself after Settings' idle minutes (10 by default) unused.
    assert.equal(await textOf(driver, "pod-owner"), "started by you, free for renders");
    const idle = await textOf(driver, "pod-idle-stop", 30_000);
    assert.match(idle, /^stops at \d{1,2}:\d\d( [AP]M)? if unused$/);
    const inTenMinutes = await driver.executeScript(
      `const t = arguments[0];
       return [9, 10, 11].some((m) => t.includes(new Date(Date.now() + m * 60000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));`,
      idle,
    );
    assert.ok(inTenMinutes, `about ten minutes from now: ${idle}`);
    let billing = await standins.billing();
    assert.equal(billing.billing, 1, "the warm pod bills while it runs");
    await screenshot(driver, "pods");

    await driver.findElement(byTest("pod-terminate")).click();
    await textOf(driver, "pods-empty", 60_000);
    billing = await standins.billing();
    assert.equal(billing.billing, 0, `nothing bills after terminate: ${JSON.stringify(billing)}`);
  } finally {
    await driver.quit();
  }
});

test("a warm pod is terminated when the system ends the app", async () => {
  const driver = await host.open();
  try {
    await startWarmPod(driver);
    assert.equal((await standins.billing()).billing, 1, "the warm pod bills");
    const pids = appPids(dataDir);
    for (const pid of pids) process.kill(pid, "SIGTERM");
    assert.ok(await exited(pids, 60_000), "the app exits within 60 s of SIGTERM");
    const billing = await standins.billing();
    assert.equal(billing.billing, 0, `no pod bills once the app has exited: ${JSON.stringify(billing)}`);
  } finally {
    await driver.quit().catch(() => undefined);
  }
});

test("a warm pod left by a killed app is terminated by its crash guard", async () => {
  const guardDir = tempDir("studio-e2e-pods-guard-");
  const guarded = await startDriver({ ...standins.env, STUDIO_DATA_DIR: guardDir, RUNPOD_API_KEY: KEY });
  try {
    const driver = await guarded.open();
    await startWarmPod(driver);
    assert.equal((await standins.billing()).billing, 1, "the warm pod bills");
    const guard = appPids(guardDir, { guard: true });
    for (const pid of appPids(guardDir)) process.kill(pid, "SIGKILL");
    await driver.quit().catch(() => undefined);
    assert.ok(await exited(guard, 60_000), "the guard settles and exits");
    const billing = await standins.billing();
    assert.equal(billing.billing, 0, `no pod bills: ${JSON.stringify(billing)}`);
  } finally {
    await guarded.stop();
  }
});
