import { describe, expect, it } from "vitest";
import type { BatchPlan, QueueItem } from "./batch";
import { counts, emptyQueue, fold, resumable, rows, starting, unfinished, withQueue } from "./queueState";

const plan = {
  planId: "p1",
  renders: ["a.mp4", "b.mp4", "c.mp4"].map((v) => ({ image: "/in/me.png", video: `/in/${v}`, frames: 49, spec: {} })),
  estimate: { renders: [], pods: 2, coldStartUsd: 0.2, totalUsd: 0.5, wallSecs: 300 },
  maxPods: 2,
  budgetUsd: 15,
  targetLabel: "a new RunPod GPU",
  demo: false,
} as unknown as BatchPlan;

const item = (jobId: string, position: number, stage: QueueItem["stage"], extra: Partial<QueueItem> = {}): QueueItem => ({
  jobId,
  batchId: "b1",
  position,
  image: "/in/me.png",
  video: `/in/${jobId}.mp4`,
  stage,
  costUsd: null,
  outputs: [],
  error: null,
  ...extra,
});

describe("the queue's rows", () => {
  it("names each render from the plan once the batch has ids, then follows each render's events", () => {
    let q = starting(plan);
    expect(rows(q).map((r) => [r.position, r.video, r.stage])).toEqual([
      [1, "/in/a.mp4", "queued"],
      [2, "/in/b.mp4", "queued"],
      [3, "/in/c.mp4", "queued"],
    ]);
    // An answer from the engine before the batch has an id does not replace the plan.
    expect(withQueue(q, [item("old", 1, "done", { batchId: "b0" })])).toBe(q);
    q = fold(q, { event: "batchStarted", batchId: "b1", jobIds: ["j1", "j2", "j3"] });
    q = fold(q, { event: "stage", jobId: "j1", stage: "generating", previous: "startingPod", previousMs: 1, elapsedMs: 1 });
    q = fold(q, { event: "sampling", jobId: "j1", value: 1, max: 4 });
    q = fold(q, { event: "cost", jobId: "j1", usd: 0.05, rateUsdPerHour: 1.6, elapsedSecs: 110 });
    q = fold(q, { event: "lease", batchId: "b1", podId: "pod-1", gpuId: "A100", rateUsdPerHour: 1.6, state: "ready" });
    q = fold(q, { event: "batchCost", batchId: "b1", usd: 0.07, budgetUsd: 15 });
    const [first, second] = rows(q);
    expect(first).toMatchObject({ jobId: "j1", video: "/in/a.mp4", stage: "generating", costUsd: 0.05, fraction: 0.25, detail: "step 1 of 4" });
    expect(second).toMatchObject({ jobId: "j2", video: "/in/b.mp4", stage: "queued" });
    expect(q.costUsd).toBe(0.07);
    expect(counts(rows(q))).toEqual({ done: 0, failed: 0, cancelled: 0, running: 1, queued: 2 });
    expect(resumable(q)).toBe(false);
  });

  it("takes the engine's word on a render it ended (removed from the queue) over an older event", () => {
    let q = fold(starting(plan), { event: "batchStarted", batchId: "b1", jobIds: ["j1", "j2"] });
    q = fold(q, { event: "stage", jobId: "j2", stage: "uploading", previous: "queued", previousMs: 1, elapsedMs: 1 });
    q = withQueue(q, [item("j1", 1, "generating"), item("j2", 2, "cancelled", { costUsd: 0.01 })]);
    expect(rows(q).map((r) => r.stage)).toEqual(["generating", "cancelled"]);
    q = fold(q, { event: "finished", jobId: "j1", stage: "done", outputs: ["/out/j1.mp4"], costUsd: 0.09, error: null });
    expect(rows(q)[0]).toMatchObject({ stage: "done", outputs: ["/out/j1.mp4"], costUsd: 0.09 });
  });

  it("after a restart offers to resume a batch whose renders are still queued, and only then", () => {
    let q = withQueue(emptyQueue, [
      item("x1", 1, "done", { batchId: "old", costUsd: 0.1 }),
      item("j1", 1, "done", { costUsd: 0.2 }),
      item("j2", 2, "queued"),
      item("j3", 3, "queued"),
    ]);
    expect(q.batchId).toBe("b1");
    expect(q.costUsd).toBeCloseTo(0.2);
    expect(resumable(q)).toBe(true);
    expect(unfinished(q)).toBe(true);
    // A batch still running in this process (the window was reloaded) is followed, not resumed.
    q = withQueue(emptyQueue, [item("j1", 1, "generating"), item("j2", 2, "queued")]);
    expect(resumable(q)).toBe(false);
    // All finished: the latest batch is shown, nothing to resume.
    q = withQueue(emptyQueue, [item("j1", 1, "done"), item("j2", 2, "failed")]);
    expect(resumable(q)).toBe(false);
    expect(unfinished(q)).toBe(false);
  });
});
