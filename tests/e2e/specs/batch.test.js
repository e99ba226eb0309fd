// A batch in the real window, in demo mode (the built-in stand-ins): one photo and three dances
// dropped at once make three renders, priced in one confirmation, followed in the queue to the
// end, and all three land in the gallery.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { By, until } from "selenium-webdriver";
import { appPids, artifacts, byTest, dropFiles, makeMedia, root, screenshot, startDriver, tempDir, textOf, videoPlays } from "../lib/harness.js";
import { startStandins } from "../lib/standins.js";

const dataDir = tempDir("studio-e2e-batch-");
const mediaDir = tempDir("studio-e2e-batch-media-");
let host;
let media;
let standins;

before(async () => {
  media = makeMedia(mediaDir);
  // Two more dances, made like the first (real H.264 from FFmpeg), with other names and patterns.
  media.dances = [media.video];
  for (const [name, source] of [
    ["tango.mp4", "testsrc=size=480x832:rate=25"],
    ["waltz.mp4", "mandelbrot=size=480x832:rate=25"],
  ]) {
    const path = join(mediaDir, name);
    execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", path]);
    media.dances.push(path);
  }
  host = await startDriver({
    STUDIO_DATA_DIR: dataDir,
    STUDIO_DEMO: "1",
    RUNPOD_API_KEY: "",
    // Real RunPod's address on purpose: demo mode must not use it.
    STUDIO_RUNPOD_API_URL: "http://127.0.0.1:9/v2",
  });
});

after(async () => {
  await host?.stop();
  standins?.stop();
});

/// The whole screen as a person sees it (Xvfb's root window). With STUDIO_E2E_DOCS=1 it also
/// replaces `docs/<docName>`: a test run leaves the tracked files alone otherwise.
function screenOf(name, docName) {
  const file = join(artifacts, `${name}.png`);
  if (!process.env.DISPLAY) return;
  // The window is 1200 px wide at the left of the 1280 px screen.
  execFileSync("import", ["-window", "root", "-crop", "1200x800+0+0", "+repage", file]);
  if (docName && process.env.STUDIO_E2E_DOCS === "1") execFileSync("cp", [file, join(root, "docs", docName)]);
}

/// Each queue row's stage, read in one go (rows are re-made as the queue changes).
const stagesIn = (driver) =>
  driver.executeScript(`return [...document.querySelectorAll('[data-testid="queue-row"]')].map((r) => r.dataset.stage);`);

async function scrollTo(driver, id) {
  await driver.executeScript(`document.querySelector('[data-testid="${id}"]').scrollIntoView({ block: "start" });`);
  await driver.sleep(300);
}

test("one photo and three dances: one estimate, three renders in the queue, three videos in the gallery", async () => {
  const driver = await host.open();
  try {
    // Two pods at once, set where a creator sets it.
    await driver.findElement(byTest("nav-settings")).click();
    const pods = await driver.wait(until.elementLocated(byTest("max-pods")), 10_000);
    assert.equal(await pods.getAttribute("value"), "1", "one pod at once by default");
    await pods.clear();
    await pods.sendKeys("2");
    await driver.findElement(byTest("settings-save")).click();
    await textOf(driver, "settings-saved");
    await driver.findElement(byTest("nav-create")).click();

    await dropFiles(driver, [media.photo, ...media.dances]);
    assert.match(await textOf(driver, "batch-count", 30_000), /1 photo × 3 dances = 3 renders/);
    assert.equal((await driver.findElements(byTest("video-item"))).length, 3);
    assert.match(await textOf(driver, "estimate", 60_000), /Demo: nothing is billed.*3 renders/s);
    const button = await driver.findElement(byTest("render-button"));
    assert.match(await button.getText(), /^Render 3 videos — about \$\d+\.\d\d$/);
    await button.click();

    const confirm = await driver.wait(until.elementLocated(byTest("render-confirm")), 10_000);
    const lines = await confirm.findElements(byTest("batch-render"));
    assert.equal(lines.length, 3, "one line per render");
    const cells = await Promise.all(
      lines.map(async (l) => Promise.all((await l.findElements(By.css("td"))).map((c) => c.getText()))),
    );
    for (const [i, name] of ["dance.mp4", "tango.mp4", "waltz.mp4"].entries()) {
      const [n, photo, dance, frames, price] = cells[i];
      assert.deepEqual([n, photo, dance], [String(i + 1), "photo.png", name], JSON.stringify(cells[i]));
      assert.ok(Number(frames) > 1, `frames: ${frames}`);
      assert.match(price, /^\$\d+\.\d+$/);
    }
    assert.match(await textOf(driver, "batch-cold-start"), /^Starting 2 GPUs .*\$\d+\.\d+$/);
    assert.match(await textOf(driver, "batch-terms"), /Up to 2 GPUs at once .* this batch uses 2\./);
    const total = await textOf(driver, "batch-total");
    assert.match(total, /^Total.*\$\d+\.\d\d$/);
    const yes = await driver.findElement(byTest("render-confirm-yes"));
    assert.equal(await yes.getText(), "Start 3 renders");
    await scrollTo(driver, "render-setup");
    await screenshot(driver, "batch-confirm");
    screenOf("batch-confirm-screen", "screenshot-batch-confirm.png");
    await yes.click();

    await driver.wait(until.elementLocated(byTest("queue-panel")), 10_000);
    const stages = () => stagesIn(driver);
    await driver.wait(async () => /2 GPUs working/.test(await textOf(driver, "queue-summary")), 120_000, "two leases hold a pod each");
    await driver.wait(async () => (await stages()).includes("generating"), 120_000, "a render generates");
    assert.equal((await stages()).length, 3);
    assert.match(await textOf(driver, "queue-cost"), /simulated/);
    await screenshot(driver, "queue-running");
    screenOf("queue-running-screen", "screenshot-queue.png");

    await driver.wait(
      async () => (await stages()).every((s) => s === "done"),
      400_000,
      "every render of the batch is done",
    ).catch(async (e) => {
      await screenshot(driver, "queue-stuck");
      throw new Error(`${e.message}: ${JSON.stringify(await stages())}`);
    });
    assert.equal(await textOf(driver, "queue-title"), "3 renders finished");
    assert.match(await textOf(driver, "queue-summary"), /^3 done · No GPU is left running\.$/);
    await screenshot(driver, "queue-done");
    screenOf("queue-done-screen");

    // A result plays right in the queue.
    await (await driver.findElements(byTest("queue-play")))[1].click();
    assert.match((await videoPlays(driver, "queue-video", { playing: true })).src, /SteadyDancer_\d{4}-\d\d-\d\d_[0-9a-f]{8}\.mp4$/);

    await (await driver.findElements(byTest("queue-open-gallery")))[2].click();
    const detail = await textOf(driver, "gallery-detail", 10_000);
    assert.match(detail, /waltz\.mp4/, "the third render's entry opens");
    await driver.findElement(byTest("gallery-back")).click();
    await driver.wait(async () => (await driver.findElements(byTest("gallery-item"))).length === 3, 10_000, "three videos in the gallery");
    await screenshot(driver, "batch-gallery");
    // textContent: WebKitWebDriver leaves out text in a box that clips it (the ellipsis style).
    const names = await Promise.all((await driver.findElements(byTest("gallery-item"))).map((i) => i.getAttribute("textContent")));
    for (const dance of ["dance.mp4", "tango.mp4", "waltz.mp4"]) {
      assert.ok(names.some((n) => n.includes(dance)), `${dance} is in the gallery: ${names}`);
    }
  } finally {
    await driver.quit();
  }
});

test("a batch the app died in is offered on the next start, and Resume renders what was left", async () => {
  const KEY = "rpa_E2E_BATCH_KEY_7788";
  // Slow sampling so the kill lands while the first render generates.
  standins = await startStandins({ key: KEY, stepMs: 1500 });
  const dir = tempDir("studio-e2e-batch-resume-");
  const real = await startDriver({ ...standins.env, STUDIO_DATA_DIR: dir, RUNPOD_API_KEY: KEY });
  try {
    const driver = await real.open();
    await dropFiles(driver, [media.photo, ...media.dances]);
    await textOf(driver, "estimate", 60_000);
    await driver.findElement(byTest("render-button")).click();
    await driver.findElement(byTest("render-confirm-yes")).click();
    const stages = stagesIn;
    await driver.wait(async () => (await stages(driver)).includes("generating"), 120_000, "the first render generates");
    // The app and its crash guard die (as when the computer loses power).
    for (const pid of [...appPids(dir, { guard: true }), ...appPids(dir)]) process.kill(pid, "SIGKILL");
    await driver.quit().catch(() => undefined);

    const again = await real.open();
    try {
      const resume = await again.wait(until.elementLocated(byTest("queue-resume")), 180_000, "Resume is offered");
      await again.wait(until.elementIsVisible(resume), 5_000);
      // The renders not yet begun when the app died wait in the queue (the next one may already
      // have been uploaded to the pod: recovery settled that one with the first).
      const before = await stages(again);
      const waiting = before.filter((x) => x === "queued").length;
      assert.ok(waiting >= 1 && before[2] === "queued", JSON.stringify(before));
      assert.equal(await resume.getText(), `Resume ${waiting} ${waiting === 1 ? "render" : "renders"}`);
      assert.match(await textOf(again, "queue-resume-note"), /Nothing was paid for them/);
      await screenshot(again, "queue-resume");
      screenOf("queue-resume-screen");
      await resume.click();
      await again.wait(
        async () => {
          const s = await stages(again);
          return s.length === 3 && before.every((x, i) => x !== "queued" || s[i] === "done");
        },
        300_000,
        "the renders left are done",
      );
      assert.equal((await again.findElements(byTest("queue-resume"))).length, 0);
      // Results from before the restart play too.
      await (await again.findElements(byTest("queue-play")))[0].click();
      await videoPlays(again, "queue-video", { playing: true });
      const billing = await standins.billing();
      assert.equal(billing.billing, 0, `no pod is left billing: ${JSON.stringify(billing)}`);
    } finally {
      await again.quit();
    }
  } finally {
    await real.stop();
  }
});
