// Starts tauri-driver, opens the real app through WebDriver, and cleans up after itself.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Builder, By, until } from "selenium-webdriver";

export const root = resolve(import.meta.dirname, "../../..");
export const artifacts = join(root, "tests/e2e/.artifacts");

export function appBinary() {
  const bin = process.env.STUDIO_APP_BINARY ?? join(root, "target/debug/steadydancer-studio");
  if (!existsSync(bin)) throw new Error(`app binary missing: ${bin} (build it with the custom-protocol feature first)`);
  return bin;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

async function waitForPort(port, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`tauri-driver did not listen on ${port} within ${ms} ms`);
}

/// A port nobody listens on now (the OS picks it).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/// One tauri-driver for a suite; `env` reaches the app (tauri-driver -> WebKitWebDriver -> app).
/// Ports come from the OS, and a driver that does not come up (a port taken meanwhile) is
/// replaced, so one busy port cannot fail a whole spec file.
/// The app opens only files picked in its dialog or dropped on it; `dropFiles` sends the drop
/// from the page, which the app counts only with STUDIO_TEST_PAGE_DROPS=1 (tests only).
export async function startDriver(env) {
  env = { STUDIO_TEST_PAGE_DROPS: "1", ...env };
  let proc;
  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const nativePort = await freePort();
    proc = spawn(
      process.env.TAURI_DRIVER ?? "tauri-driver",
      ["--port", String(port), "--native-port", String(nativePort)],
      { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] },
    );
    try {
      await waitForPort(port, 30_000);
      break;
    } catch (e) {
      proc.kill("SIGKILL");
      if (attempt === 3) throw e;
      console.log(`tauri-driver did not come up on ${port} (attempt ${attempt}); trying other ports`);
    }
  }
  return {
    port,
    async open() {
      const driver = await new Builder()
        .usingServer(`http://127.0.0.1:${port}/`)
        .withCapabilities({ browserName: "wry", "tauri:options": { application: appBinary() } })
        .build();
      await driver.wait(until.elementLocated(By.css("[data-testid=screen-create]")), 60_000);
      return driver;
    },
    async stop() {
      // WebKitWebDriver ends a session by killing the app (SIGKILL) a moment after `quit`
      // returns. Stopping the driver before that would leave the app running, holding this
      // suite's output open; so wait for it, and make sure of it afterwards.
      const dataDir = env.STUDIO_DATA_DIR;
      if (dataDir) await exited(findAppPids(dataDir), 5_000);
      proc.kill("SIGTERM");
      await sleep(300);
      if (dataDir) for (const pid of findAppPids(dataDir)) process.kill(pid, "SIGKILL");
    },
  };
}

export const byTest = (id) => By.css(`[data-testid="${id}"]`);

export async function textOf(driver, id, ms = 20_000) {
  const el = await driver.wait(until.elementLocated(byTest(id)), ms);
  await driver.wait(until.elementIsVisible(el), ms);
  return el.getText();
}

/// WebDriver cannot drag files from the desktop, so the test sends the very events the window
/// emits for a native drag and drop (`tauri://drag-enter`, then `tauri://drag-drop` with the paths) through Tauri's event system;
/// everything after it (probe, facts, errors) runs for real.
export async function dropFiles(driver, paths) {
  await driver.wait(
    async () => (await driver.executeScript("return document.body.dataset.dropReady")) === "1",
    10_000,
    "the drop zone listens",
  );
  await driver.executeAsyncScript(
    `const done = arguments[arguments.length - 1];
     const emit = (event) => window.__TAURI_INTERNALS__
       .invoke("plugin:event|emit", { event, payload: { paths: arguments[0], position: { x: 400, y: 200 } } });
     emit("tauri://drag-enter").then(() => emit("tauri://drag-drop"))
       .then(() => done(null), (e) => done(String(e)));`,
    paths,
  ).then((err) => {
    if (err) throw new Error(`drop failed: ${err}`);
  });
}

/// Waits until the `<video>` with this test id has decoded its first frame, and returns its state.
/// With `playing`, also until its clock runs (the result video plays by itself).
export async function videoPlays(driver, id, { playing = false, ms = 20_000 } = {}) {
  let state;
  try {
    await driver.wait(async () => {
      state = await driver.executeScript(
        `const v = document.querySelector('[data-testid="${id}"]');
         return v && { src: v.currentSrc, error: v.error && v.error.code, ready: v.readyState, width: v.videoWidth, time: v.currentTime };`,
      );
      return state && !state.error && state.ready >= 2 && state.width > 0 && (!playing || state.time > 0);
    }, ms);
  } catch (e) {
    throw new Error(`${id} does not play: ${JSON.stringify(state)} (${e.message})`);
  }
  return state;
}

/// The app processes started with this data folder (only this test's instances), by pid; with
/// `guard`, their crash guards (the same program started with --crash-guard) instead.
export function findAppPids(dataDir, { guard = false } = {}) {
  return execFileSync("sh", ["-c", `grep -l "STUDIO_DATA_DIR=${dataDir}" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true`])
    .toString()
    .split("\n")
    .filter(Boolean)
    .filter((pid) => {
      try {
        if (!readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith("steadydancer")) return false;
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("--crash-guard") === guard;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/// As `findAppPids`, for a process that must be running.
export function appPids(dataDir, options = {}) {
  const pids = findAppPids(dataDir, options);
  if (pids.length === 0) throw new Error(`no ${options.guard ? "crash guard" : "app"} process runs with STUDIO_DATA_DIR=${dataDir}`);
  return pids;
}

/// True once none of `pids` runs any more (within `ms`).
export async function exited(pids, ms) {
  const alive = (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const end = Date.now() + ms; Date.now() < end && pids.some(alive); ) await sleep(200);
  return !pids.some(alive);
}

export async function screenshot(driver, name) {
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, `${name}.png`), await driver.takeScreenshot(), "base64");
}

/// Real media files made with the ffmpeg CLI, plus a damaged one.
export function makeMedia(dir) {
  const video = join(dir, "dance.mp4");
  const photo = join(dir, "photo.png");
  const corrupt = join(dir, "broken.mp4");
  const ff = (...args) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args]);
  ff("-f", "lavfi", "-i", "testsrc2=size=480x832:rate=25", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", video);
  ff("-f", "lavfi", "-i", "smptebars=size=576x1024:rate=1", "-frames:v", "1", photo);
  const bytes = readFileSync(video);
  writeFileSync(corrupt, bytes.subarray(0, Math.floor(bytes.length / 3)));
  return { video, photo, corrupt };
}
