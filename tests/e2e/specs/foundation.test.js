// The foundation in the real window: four screens, media facts, a clear error for a broken
// file, and a key that survives a restart without ever touching the data folder.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { By, until } from "selenium-webdriver";
import { byTest, dropFiles, makeMedia, screenshot, startDriver, tempDir, textOf } from "../lib/harness.js";
import { startStandins } from "../lib/standins.js";

const TEST_KEY = "rpa_E2E_SECRET_9f8e7d6c5b4a_4321";
const dataDir = tempDir("studio-e2e-data-");
const mediaDir = tempDir("studio-e2e-media-");
let driverHost;
let media;
let standins;

before(async () => {
  media = makeMedia(mediaDir);
  // Saving a key checks it with RunPod: here, the stand-in, never the real one.
  standins = await startStandins({ key: TEST_KEY });
  driverHost = await startDriver({ ...standins.env, STUDIO_DATA_DIR: dataDir, RUNPOD_API_KEY: "" });
});

after(async () => {
  await driverHost?.stop();
  standins?.stop();
});

test("the window shows the four screens and navigation works", async () => {
  const driver = await driverHost.open();
  try {
    assert.equal(await driver.getTitle(), "SteadyDancer Studio");
    for (const id of ["gallery", "pods", "settings", "create"]) {
      await driver.findElement(byTest(`nav-${id}`)).click();
      await driver.wait(until.elementLocated(byTest(`screen-${id}`)), 5_000);
    }
    await driver.findElement(byTest("nav-gallery")).click();
    assert.match(await textOf(driver, "gallery-empty"), /No videos yet/);
    await driver.findElement(byTest("nav-pods")).click();
    assert.match(await textOf(driver, "pods-empty"), /No pods running/);
  } finally {
    await driver.quit();
  }
});

test("dropping a photo and a video shows their facts; a broken file shows an error", async () => {
  const driver = await driverHost.open();
  try {
    await dropFiles(driver, [media.photo, media.video]);
    assert.equal(await textOf(driver, "video-dimensions"), "480 × 832 (portrait)");
    assert.equal(await textOf(driver, "video-fps"), "25 fps");
    assert.equal(await textOf(driver, "video-duration"), "2.0 s");
    assert.match(await textOf(driver, "video-codec"), /h264/);
    assert.equal(await textOf(driver, "photo-dimensions"), "576 × 1024 (portrait)");
    const thumb = await driver.findElement(By.css("[data-testid=video-card] img.thumb"));
    assert.match(await thumb.getAttribute("src"), /^data:image\/jpeg;base64,/);
    await screenshot(driver, "create");

    await dropFiles(driver, [media.corrupt]);
    const error = await textOf(driver, "file-error");
    assert.match(error, /broken\.mp4/);
    assert.ok(error.length > "broken.mp4: ".length + 20, `a real explanation, got: ${error}`);
    // The good files stay.
    assert.equal(await textOf(driver, "video-dimensions"), "480 × 832 (portrait)");
  } finally {
    await driver.quit();
  }
});

test("the page opens only files the user dropped or picked, and runs no inline script", async () => {
  const driver = await driverHost.open();
  try {
    // What a script that got into the page could try: name files itself.
    const call = (cmd, args) =>
      driver.executeAsyncScript(
        `const done = arguments[arguments.length - 1];
         window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
           .then(() => done({ ok: true }), (e) => done({ ok: false, code: e && e.code, message: e && e.message }));`,
        cmd,
        args,
      );
    let r = await call("probe_media", { path: media.video });
    assert.equal(r.code, "app.path_not_chosen", JSON.stringify(r));
    assert.match(r.message, /Choose files/);

    await dropFiles(driver, [media.photo, media.video]);
    assert.equal(await textOf(driver, "video-dimensions"), "480 × 832 (portrait)");
    assert.equal((await call("probe_media", { path: media.video })).ok, true);
    r = await call("probe_media", { path: media.corrupt });
    assert.equal(r.code, "app.path_not_chosen", `a file beside a dropped one stays closed: ${JSON.stringify(r)}`);
    r = await call("plan_batch", { request: { images: [media.photo], videos: [media.video, media.corrupt] } });
    assert.equal(r.code, "app.path_not_chosen", JSON.stringify(r));
    r = await call("reveal_file", { path: media.video });
    assert.equal(r.code, "app.path_not_an_output", JSON.stringify(r));
    r = await call("video_url", { path: media.video });
    assert.equal(r.code, "media.not_playable_here", JSON.stringify(r));

    // The CSP's script-src 'self': a script element the page makes up does not run.
    const ran = await driver.executeScript(
      `const s = document.createElement("script");
       s.textContent = "window.__inlineRan = true";
       document.body.appendChild(s);
       return window.__inlineRan === true;`,
    );
    assert.equal(ran, false);
  } finally {
    await driver.quit();
  }
});

test("a key saved in Settings survives a restart and is never written to the data folder", async () => {
  let driver = await driverHost.open();
  try {
    await driver.findElement(byTest("nav-settings")).click();
    const input = await driver.wait(until.elementLocated(byTest("key-input")), 10_000);
    await input.sendKeys(TEST_KEY);
    await driver.findElement(byTest("key-save")).click();
    assert.equal(await textOf(driver, "key-mask"), "••••••••4321");
    // Preferences go to the store file. An image of one's own is an advanced choice under the
    // pinned environment.
    await driver.findElement(byTest("software-own")).click();
    const image = await driver.wait(until.elementLocated(byTest("pod-image")), 5_000);
    await image.clear();
    await image.sendKeys("ghcr.io/example/custom:1");
    await driver.findElement(byTest("settings-save")).click();
    await textOf(driver, "settings-saved");
    await screenshot(driver, "settings");
  } finally {
    await driver.quit();
  }

  driver = await driverHost.open();
  try {
    await driver.findElement(byTest("nav-settings")).click();
    assert.equal(await textOf(driver, "key-mask"), "••••••••4321");
    assert.equal(await (await driver.findElement(byTest("pod-image"))).getAttribute("value"), "ghcr.io/example/custom:1");
    const page = await driver.findElement(By.css("body")).getText();
    assert.ok(!page.includes(TEST_KEY), "the key is not on screen");
    // Remove it again: the keychain is shared with the next suite.
    await driver.findElement(byTest("key-remove")).click();
    await driver.wait(until.elementLocated(byTest("key-input")), 10_000);
  } finally {
    await driver.quit();
  }

  const store = execFileSync("cat", [`${dataDir}/settings.json`]).toString();
  assert.match(store, /custom:1/);
  // grep exits 1 when nothing matches: that is the pass.
  let leaked = "";
  try {
    leaked = execFileSync("grep", ["-rl", "--", TEST_KEY.slice(4), dataDir]).toString();
  } catch (e) {
    assert.equal(e.status, 1, `grep failed: ${e}`);
  }
  assert.equal(leaked, "", `the key leaked into: ${leaked}`);
  const logs = execFileSync("sh", ["-c", `cat ${dataDir}/logs/*`]).toString();
  assert.match(logs, /API key saved to the keychain/);
});
