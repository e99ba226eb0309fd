import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { App } from "../App";
import type { BatchPlan, PodStart } from "../batch";
import { facts, fakeBackend } from "../testing";

vi.mock("@tauri-apps/plugin-notification", () => ({
  isPermissionGranted: async () => true,
  requestPermission: async () => "granted",
  sendNotification: () => undefined,
}));

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const PHOTO = "/home/me/photo.png";
const DANCES = ["/home/me/salsa.mp4", "/home/me/tango.mp4"];
const files = Object.fromEntries([
  [PHOTO, { facts: facts({ path: PHOTO, fileName: "photo.png", kind: "image", durationSecs: null }), thumbnail: null }],
  ...DANCES.map((p) => [p, { facts: facts({ path: p, fileName: p.split("/").pop(), durationSecs: 4 }), thumbnail: null }]),
]);

const est = { frames: 49, steps: 4, rateUsdPerHour: 1.64, startupSecs: 0, generationSecs: 60, totalSecs: 80, costUsd: 0.04 };

// 32.7 GB at 100 MB/s, as the engine prices the pinned environment's download.
const pinned: PodStart = { secs: 687, usdPerPod: 0.31, downloadBytes: 32_700_000_000, downloadSecs: 327, downloadUsd: 0.149, volume: false, laterSecs: null };

function plan(videos: string[], podStart: PodStart | null, kind = "newPod"): BatchPlan {
  return {
    planId: `plan-${videos.length}`,
    renders: videos.map((video) => ({ image: PHOTO, video, frames: 49, spec: { target: { kind, gpuIds: ["A100"] } } as never })),
    estimate: { renders: videos.map(() => est), pods: 1, coldStartUsd: podStart?.usdPerPod ?? 0, totalUsd: 0.4, wallSecs: 900, podStart },
    maxPods: 1,
    budgetUsd: null,
    targetLabel: "a new RunPod GPU (A100 first)",
    demo: false,
  };
}

async function drop(paths: string[]) {
  const { emit } = await import("@tauri-apps/api/event");
  await waitFor(() => expect(document.body.dataset.dropReady).toBe("1"));
  await emit("tauri://drag-drop", { paths, position: { x: 1, y: 1 } });
}

async function confirmation(videos: string[], podStart: PodStart | null, kind?: string) {
  fakeBackend(files, (cmd) => {
    if (cmd === "check_pair") return [];
    if (cmd === "plan_batch") return plan(videos, podStart, kind);
    return undefined;
  });
  render(<App />);
  await drop([PHOTO, ...videos]);
  const button = await screen.findByTestId("render-button");
  await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
  fireEvent.click(button);
  return screen.findByTestId("render-confirm");
}

describe("the confirmation details a new GPU's start", () => {
  it("names the model download for one render", async () => {
    const confirm = await confirmation([DANCES[0]], pinned);
    expect(within(confirm).getByTestId("pod-start").textContent).toBe(
      "Each new GPU first installs the software and downloads 32.7 GB of models (about 5 min 27 s, $0.15). Keep models between renders in Settings to download them only once.",
    );
  });

  it("names it for a batch, and with a model volume says later renders start sooner", async () => {
    const confirm = await confirmation(DANCES, { ...pinned, volume: true, laterSecs: 120 });
    expect(within(confirm).getAllByTestId("batch-render")).toHaveLength(2);
    expect(within(confirm).getByTestId("pod-start").textContent).toBe(
      "Each new GPU first installs the software and downloads 32.7 GB of models (about 5 min 27 s, $0.15) once: your model volume keeps them, so later renders start in about 2 min 00 s.",
    );
  });

  it("says nothing of a download on the user's own ComfyUI", async () => {
    const confirm = await confirmation([DANCES[0]], null, "comfyUrl");
    expect(confirm.textContent).toMatch(/your own ComfyUI server/);
    expect(within(confirm).queryByTestId("pod-start")).toBeNull();
  });
});
