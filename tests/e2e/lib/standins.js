// Starts the stand-in ComfyUI and the stand-in RunPod (whose pod proxy forwards to it) as real
// processes on loopback, and reads the stand-in's billing clock.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { root } from "./harness.js";

function bin(name) {
  return join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", name);
}

/// Starts `name` and resolves with the first `lines` lines it prints.
function startPrinting(name, args, lines) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin(name), args, { stdio: ["ignore", "pipe", "inherit"] });
    const got = [];
    const rl = createInterface({ input: proc.stdout });
    rl.on("line", (line) => {
      got.push(line);
      if (got.length === lines) resolve({ proc, lines: got });
    });
    proc.on("exit", (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    setTimeout(() => reject(new Error(`${name} did not start in 20 s`)), 20_000);
  });
}

export async function startStandins({ key, stepMs = 150 }) {
  const comfy = await startPrinting("standin-comfy", ["--listen", "127.0.0.1:0", "--step-ms", String(stepMs)], 1);
  const comfyUrl = comfy.lines[0].trim();
  const runpod = await startPrinting("standin-runpod", ["--port", "0", "--upstream", comfyUrl, "--key", key, "--fast"], 4);
  const env = {};
  for (const line of runpod.lines) {
    const m = line.match(/^(STUDIO_[A-Z_]+)=(.*)$/);
    if (m) env[m[1]] = m[2];
  }
  const billingUrl = runpod.lines.find((l) => l.startsWith("billing: ")).slice("billing: ".length);
  return {
    env,
    comfyUrl,
    async billing() {
      const r = await fetch(billingUrl);
      if (!r.ok) throw new Error(`billing clock answered ${r.status}`);
      return r.json();
    },
    stop() {
      runpod.proc.kill("SIGTERM");
      comfy.proc.kill("SIGTERM");
    },
  };
}
