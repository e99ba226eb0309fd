import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { App } from "../App";
import type { BatchPlan } from "../batch";
import type { GalleryEntry, JobEvent, JobSpec } from "../jobs";
import { facts, fakeBackend } from "../testing";

const notifications = vi.hoisted(() => [] as { title: string; body: string }[]);
vi.mock("@tauri-apps/plugin-notification", () => ({
  isPermissionGranted: async () => true,
  requestPermission: async () => "granted",
  sendNotification: (n: { title: string; body: string }) => notifications.push(n),
}));

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  notifications.length = 0;
});

const PHOTO = "/home/me/photo.png";
const VIDEO = "/home/me/dance.mp4";
const files = {
  [PHOTO]: { facts: facts({ path: PHOTO, fileName: "photo.png", kind: "image", durationSecs: null }), thumbnail: null },
  [VIDEO]: { facts: facts({ path: VIDEO, fileName: "dance.mp4", durationSecs: 4 }), thumbnail: null },
};

function spec(seed: number, steps: number, trimStart: number, trimEnd: number): JobSpec {
  return {
    image: PHOTO,
    video: VIDEO,
    manifest: "/wf/steadydancer.toml",
    params: { seed, steps },
    target: { kind: "newPod", gpuIds: ["NVIDIA A100 80GB PCIe"] },
    outDir: "/out",
    budgetUsd: 5,
    normalise: { trimStart, trimEnd, fit: "crop" },
  };
}

function entry(id: string, createdMs: number, s: JobSpec): GalleryEntry {
  return {
    id,
    createdMs,
    video: `/out/${id}.mp4`,
    thumbnail: null,
    thumbnailData: null,
    spec: s,
    gpuId: "NVIDIA A100 80GB PCIe",
    stages: [],
    costUsd: 0.12,
    missing: false,
  };
}

function plan(s: JobSpec): BatchPlan {
  const estimate = { frames: 29, steps: 4, rateUsdPerHour: 1.79, startupSecs: 60, generationSecs: 30, totalSecs: 90, costUsd: 0.05 };
  return {
    planId: "plan-1",
    renders: [{ image: s.image, video: s.video, frames: 29, spec: s }],
    estimate: { renders: [estimate], pods: 1, coldStartUsd: 0.03, totalUsd: 0.05, wallSecs: 90 },
    maxPods: 1,
    budgetUsd: s.budgetUsd,
    targetLabel: "a new RunPod GPU",
    demo: false,
  };
}

async function renderAgainFrom(createdAt: string) {
  fireEvent.click(screen.getByTestId("nav-gallery"));
  const items = await screen.findAllByTestId("gallery-item");
  const item = items.find((i) => i.textContent?.includes(createdAt));
  fireEvent.click(item!);
  fireEvent.click(await screen.findByTestId("gallery-render-again"));
  await screen.findByTestId("render-setup");
}

const valueOf = (id: string) => (screen.getByTestId(id) as HTMLInputElement).value;

describe("Create screen", () => {
  it("loads a gallery entry's seed, steps and trim every time, also while the settings are on screen", async () => {
    const older = entry("a", Date.UTC(2025, 0, 1, 10), spec(7, 8, 0.5, 2.5));
    const newer = entry("b", Date.UTC(2025, 0, 2, 10), spec(99, 4, 1, 3));
    fakeBackend(files, (cmd) => {
      if (cmd === "check_pair") return [];
      if (cmd === "gallery_list") return [older, newer];
      if (cmd === "video_url") return "http://127.0.0.1:1/t/0/a.mp4";
      if (cmd === "plan_batch") return plan(spec(1, 4, 0, 4));
      return undefined;
    });
    render(<App />);

    await renderAgainFrom(new Date(older.createdMs).toLocaleString());
    await waitFor(() => expect(valueOf("opt-seed")).toBe("7"));
    expect(valueOf("opt-quality")).toBe("8");
    expect(valueOf("opt-trim-start")).toBe("0.5");
    expect(valueOf("opt-trim-end")).toBe("2.5");

    // The settings panel stays mounted (same photo and dance): the second entry must still win.
    await renderAgainFrom(new Date(newer.createdMs).toLocaleString());
    await waitFor(() => expect(valueOf("opt-seed")).toBe("99"));
    expect(valueOf("opt-quality")).toBe("4");
    expect(valueOf("opt-trim-start")).toBe("1");
    expect(valueOf("opt-trim-end")).toBe("3");

    // A change of the user's own is kept until the next "render again".
    fireEvent.change(screen.getByTestId("opt-seed"), { target: { value: "123" } });
    await new Promise((r) => setTimeout(r, 50));
    expect(valueOf("opt-seed")).toBe("123");
  });

  it("announces the render's own final state when the window is in the background", async () => {
    vi.spyOn(document, "hasFocus").mockReturnValue(false);
    const s = spec(7, 4, 0, 2);
    const finished: JobEvent = { event: "finished", jobId: "job-1", stage: "done", outputs: ["/out/job-1.mp4"], costUsd: 0.04, error: null };
    const { calls } = fakeBackend(files, (cmd, args) => {
      if (cmd === "check_pair") return [];
      if (cmd === "plan_batch") return plan(s);
      if (cmd === "start_batch") {
        // The call's answer and the channel's messages travel apart: the answer may come first.
        const channel = args.onEvent as { onmessage: (e: JobEvent) => void };
        channel.onmessage({ event: "stage", jobId: "job-1", stage: "generating", previous: "queued", previousMs: 5, elapsedMs: 5 });
        setTimeout(() => channel.onmessage(finished), 20);
        return "job-1";
      }
      if (cmd === "video_url") return "http://127.0.0.1:1/t/0/job-1.mp4";
      return undefined;
    });
    render(<App />);
    await dropFiles([PHOTO, VIDEO]);
    const button = await screen.findByTestId("render-button");
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button);
    fireEvent.click(await screen.findByTestId("render-confirm-yes"));
    await screen.findByTestId("render-result");
    await waitFor(() => expect(notifications).toHaveLength(1));
    expect(notifications[0].title).toBe("Your video is ready");
    const start = calls.find((c) => c.cmd === "start_batch")!;
    expect(Object.keys(start.args).sort()).toEqual(["confirmed", "onEvent", "planId"]);
    expect(start.args.planId).toBe("plan-1");
    expect(start.args.confirmed).toBe(true);
  });

  it("announces a failure from the render's final event, with its message", async () => {
    vi.spyOn(document, "hasFocus").mockReturnValue(false);
    const s = spec(7, 4, 0, 2);
    fakeBackend(files, (cmd, args) => {
      if (cmd === "check_pair") return [];
      if (cmd === "plan_batch") return plan(s);
      if (cmd === "start_batch") {
        const channel = args.onEvent as { onmessage: (e: JobEvent) => void };
        channel.onmessage({ event: "stage", jobId: "job-2", stage: "generating", previous: "queued", previousMs: 5, elapsedMs: 5 });
        channel.onmessage({
          event: "finished",
          jobId: "job-2",
          stage: "failed",
          outputs: [],
          costUsd: 0.02,
          error: { code: "comfy.failed", message: "ComfyUI stopped the workflow." },
        });
        return "job-2";
      }
      return undefined;
    });
    render(<App />);
    await dropFiles([PHOTO, VIDEO]);
    const button = await screen.findByTestId("render-button");
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button);
    fireEvent.click(await screen.findByTestId("render-confirm-yes"));
    await screen.findByTestId("render-result");
    await waitFor(() => expect(notifications).toHaveLength(1));
    expect(notifications[0]).toEqual({ title: "Render stopped", body: "ComfyUI stopped the workflow." });
  });
});

describe("Choosing files", () => {
  it("asks the Rust side for the file dialog (so it knows the user chose them) and probes what it returns", async () => {
    const { calls } = fakeBackend(files, (cmd) => {
      if (cmd === "check_pair") return [];
      if (cmd === "pick_media_files") return [PHOTO, VIDEO];
      if (cmd === "plan_batch") return plan(spec(7, 4, 0, 2));
      return undefined;
    });
    render(<App />);
    fireEvent.click(screen.getByTestId("pick-files"));
    await screen.findByTestId("render-setup");
    expect(calls.some((c) => c.cmd.startsWith("plugin:dialog"))).toBe(false);
    expect(calls.filter((c) => c.cmd === "probe_media").map((c) => c.args.path)).toEqual([PHOTO, VIDEO]);
  });
});

/// The window's drop, as the webview delivers it (see DropZone).
async function dropFiles(paths: string[]) {
  const { emit } = await import("@tauri-apps/api/event");
  await waitFor(() => expect(document.body.dataset.dropReady).toBe("1"));
  await emit("tauri://drag-drop", { paths, position: { x: 1, y: 1 } });
  await screen.findByTestId("render-setup");
}
