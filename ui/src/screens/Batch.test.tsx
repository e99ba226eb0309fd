import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { App } from "../App";
import type { BatchPlan, QueueItem } from "../batch";
import type { JobEvent } from "../jobs";
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
const DANCES = ["/home/me/salsa.mp4", "/home/me/tango.mp4", "/home/me/waltz.mp4"];
const files = Object.fromEntries([
  [PHOTO, { facts: facts({ path: PHOTO, fileName: "photo.png", kind: "image", durationSecs: null }), thumbnail: null }],
  ...DANCES.map((p) => [p, { facts: facts({ path: p, fileName: p.split("/").pop(), durationSecs: 4 }), thumbnail: null }]),
]);

const est = (costUsd: number) => ({ frames: 49, steps: 4, rateUsdPerHour: 1.64, startupSecs: 0, generationSecs: 60, totalSecs: 60, costUsd });

function batchPlan(videos: string[]): BatchPlan {
  const prices = [0.11, 0.12, 0.13].slice(0, videos.length);
  return {
    planId: `plan-${videos.length}`,
    renders: videos.map((video) => ({ image: PHOTO, video, frames: 49, spec: { target: { kind: "newPod", gpuIds: ["A100"] } } as never })),
    estimate: { renders: prices.map(est), pods: 2, coldStartUsd: 0.2, totalUsd: 0.56, wallSecs: 240 },
    maxPods: 2,
    budgetUsd: 15,
    targetLabel: "a new RunPod GPU (A100 first)",
    demo: false,
  };
}

async function drop(paths: string[]) {
  const { emit } = await import("@tauri-apps/api/event");
  await waitFor(() => expect(document.body.dataset.dropReady).toBe("1"));
  await emit("tauri://drag-drop", { paths, position: { x: 1, y: 1 } });
}

describe("a batch on the Create screen", () => {
  it("lists every file, counts the renders, prices the batch in one confirmation and follows it in the queue", async () => {
    const { calls } = fakeBackend(files, (cmd, args) => {
      if (cmd === "check_pair") return [];
      if (cmd === "plan_batch") return batchPlan((args.request as { videos: string[] }).videos);
      if (cmd === "start_batch") {
        const channel = args.onEvent as { onmessage: (e: JobEvent) => void };
        const ids = ["j1", "j2", "j3"];
        channel.onmessage({ event: "batchStarted", batchId: "b1", jobIds: ids });
        ids.forEach((jobId, i) => {
          channel.onmessage({ event: "stage", jobId, stage: "generating", previous: "queued", previousMs: 1, elapsedMs: 1 });
          channel.onmessage({ event: "finished", jobId, stage: "done", outputs: [`/out/${jobId}.mp4`], costUsd: 0.1 + i / 100, error: null });
        });
        channel.onmessage({ event: "batchFinished", batchId: "b1", done: 3, failed: 0, cancelled: 0, costUsd: 0.52 });
        return { batch: { id: "b1" }, renders: [] };
      }
      return undefined;
    });
    render(<App />);
    await drop([PHOTO, DANCES[0]]);
    // One of each: today's single render (full cards, no count).
    await screen.findByTestId("video-card");
    expect(screen.queryByTestId("batch-count")).toBeNull();

    await drop([DANCES[1], DANCES[2]]);
    await waitFor(() => expect(screen.getAllByTestId("video-item")).toHaveLength(3));
    expect(screen.getByTestId("batch-count").textContent).toMatch(/1 photo × 3 dances = 3 renders/);
    // The pose preview follows the dance just added; trim and shape apply to all.
    expect(within(screen.getAllByTestId("video-item")[2]).getByTestId("video-select").textContent).toBe("In the pose preview");

    fireEvent.click(within(screen.getAllByTestId("video-item")[1]).getByTestId("video-remove"));
    await waitFor(() => expect(screen.getByTestId("batch-count").textContent).toMatch(/= 2 renders/));
    await drop([DANCES[1]]);
    await waitFor(() => expect(screen.getByTestId("batch-count").textContent).toMatch(/= 3 renders/));

    const button = await screen.findByTestId("render-button");
    await waitFor(() => expect(button.textContent).toBe("Render 3 videos — about $0.56"));
    const plan = calls.filter((c) => c.cmd === "plan_batch").pop()!;
    expect(plan.args.request).toMatchObject({ images: [PHOTO], videos: [DANCES[0], DANCES[2], DANCES[1]] });

    fireEvent.click(button);
    const confirm = await screen.findByTestId("render-confirm");
    const lines = within(confirm).getAllByTestId("batch-render");
    expect(lines.map((l) => l.textContent)).toEqual(["1photo.pngsalsa.mp449$0.11", "2photo.pngwaltz.mp449$0.12", "3photo.pngtango.mp449$0.13"]);
    expect(within(confirm).getByTestId("batch-cold-start").textContent).toMatch(/Starting 2 GPUs.*\$0\.20/);
    expect(within(confirm).getByTestId("batch-total").textContent).toMatch(/Total.*\$0\.56/);
    expect(within(confirm).getByTestId("batch-terms").textContent).toMatch(/Up to 2 GPUs at once.*stops at \$15\.00/);
    fireEvent.click(within(confirm).getByTestId("render-confirm-yes"));
    expect(within(confirm).getByTestId("render-confirm-yes").textContent).toBe("Start 3 renders");

    const panel = await screen.findByTestId("queue-panel");
    await waitFor(() => expect(within(panel).getAllByTestId("queue-row").map((r) => r.dataset.stage)).toEqual(["done", "done", "done"]));
    expect(within(panel).getByTestId("queue-title").textContent).toBe("3 renders finished");
    expect(within(panel).getByTestId("queue-cost").textContent).toMatch(/\$0\.52 of \$15\.00 cap/);
    expect(within(panel).getAllByTestId("queue-row")[1].textContent).toMatch(/photo\.png dancing waltz\.mp4/);
    const start = calls.find((c) => c.cmd === "start_batch")!;
    expect(start.args).toMatchObject({ planId: "plan-3", confirmed: true });

    // A result opens in the gallery.
    fireEvent.click(within(panel).getAllByTestId("queue-open-gallery")[0]);
    await screen.findByTestId("screen-gallery");
  });
});

const item = (jobId: string, position: number, stage: QueueItem["stage"]): QueueItem => ({
  jobId,
  batchId: "b7",
  position,
  image: PHOTO,
  video: DANCES[position - 1],
  stage,
  costUsd: stage === "queued" ? null : 0.05,
  outputs: stage === "done" ? [`/out/${jobId}.mp4`] : [],
  error: null,
});

describe("the queue panel", () => {
  it("removes a waiting render, cancels a running one and cancels all, by the engine's ids", async () => {
    let queue = [item("j1", 1, "generating"), item("j2", 2, "queued"), item("j3", 3, "queued")];
    const { calls } = fakeBackend(files, (cmd, args) => {
      if (cmd === "render_queue") return queue;
      if (cmd === "cancel_render") {
        queue = queue.map((i) => (i.jobId === args.jobId ? { ...i, stage: "cancelled" } : i));
        return null;
      }
      return undefined;
    });
    render(<App />);
    const panel = await screen.findByTestId("queue-panel");
    expect(within(panel).getByTestId("queue-title").textContent).toBe("Queue: 3 videos");
    expect(within(panel).getByTestId("queue-summary").textContent).toBe("1 running · 2 waiting");
    expect(within(panel).queryByTestId("queue-resume")).toBeNull();

    fireEvent.click(within(panel).getAllByTestId("queue-remove")[1]);
    await waitFor(() => expect(within(panel).getAllByTestId("queue-row")[2].dataset.stage).toBe("cancelled"));
    fireEvent.click(within(panel).getByTestId("queue-cancel"));
    await waitFor(() => expect(within(panel).getAllByTestId("queue-row")[0].dataset.stage).toBe("cancelled"));
    fireEvent.click(within(panel).getByTestId("queue-cancel-all"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "cancel_batch")).toBe(true));
    expect(calls.filter((c) => c.cmd === "cancel_render").map((c) => c.args.jobId)).toEqual(["j3", "j1"]);
    expect(calls.find((c) => c.cmd === "cancel_batch")!.args.batchId).toBe("b7");
  });

  it("offers to resume a batch a restart left with renders waiting, and follows it", async () => {
    const queue = [item("j1", 1, "done"), item("j2", 2, "queued"), item("j3", 3, "queued")];
    const { calls } = fakeBackend(files, (cmd, args) => {
      if (cmd === "render_queue") return queue;
      if (cmd === "resume_batch") {
        const channel = args.onEvent as { onmessage: (e: JobEvent) => void };
        channel.onmessage({ event: "batchStarted", batchId: "b7", jobIds: ["j2", "j3"] });
        channel.onmessage({ event: "stage", jobId: "j2", stage: "uploading", previous: "queued", previousMs: 1, elapsedMs: 1 });
        return new Promise(() => undefined);
      }
      return undefined;
    });
    render(<App />);
    const panel = await screen.findByTestId("queue-panel");
    expect(within(panel).getByTestId("queue-resume-note").textContent).toMatch(/Nothing was paid for them/);
    fireEvent.click(within(panel).getByTestId("queue-resume"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "resume_batch")?.args.batchId).toBe("b7"));
    await waitFor(() =>
      expect(screen.getAllByTestId("queue-row").map((r) => r.dataset.stage)).toEqual(["done", "uploading", "queued"]),
    );
    expect(screen.queryByTestId("queue-resume")).toBeNull();
  });
});
