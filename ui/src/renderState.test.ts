import { describe, expect, it } from "vitest";
import { initialRender, reduce } from "./renderState";

describe("render progress", () => {
  it("keeps a timeline with each stage's duration, the live cost and the sampler", () => {
    let s = initialRender(0);
    s = reduce(s, { event: "stage", jobId: "j1", stage: "checkingInputs", previous: null, previousMs: 0, elapsedMs: 0 });
    s = reduce(s, { event: "stage", jobId: "j1", stage: "startingPod", previous: "checkingInputs", previousMs: 120, elapsedMs: 120 });
    s = reduce(s, { event: "cost", jobId: "j1", usd: 0.0123, rateUsdPerHour: 1.64, elapsedSecs: 27 });
    s = reduce(s, { event: "stage", jobId: "j1", stage: "generating", previous: "startingPod", previousMs: 30000, elapsedMs: 30120 });
    s = reduce(s, { event: "sampling", jobId: "j1", value: 2, max: 4 });
    expect(s.jobId).toBe("j1");
    expect(s.rows.map((r) => [r.stage, r.durationMs])).toEqual([
      ["checkingInputs", 120],
      ["startingPod", 30000],
      ["generating", null],
    ]);
    expect(s.costUsd).toBeCloseTo(0.0123);
    expect(s.sampling).toEqual({ value: 2, max: 4 });
    s = reduce(s, { event: "finished", jobId: "j1", stage: "done", outputs: ["/out/a.mp4"], costUsd: 0.02, error: null });
    expect(s.finished).toBe(true);
    expect(s.outputs).toEqual(["/out/a.mp4"]);
    expect(s.rows[2].durationMs).not.toBeNull();
  });

  it("follows the pod's own start-up: installing, then the model download's bytes", () => {
    let s = initialRender(0);
    s = reduce(s, { event: "stage", jobId: "j3", stage: "installingSoftware", previous: "startingPod", previousMs: 90000, elapsedMs: 90000 });
    s = reduce(s, { event: "podSetup", jobId: "j3", message: "Installing: ComfyUI-KJNodes 3f20054", doneBytes: null, totalBytes: null });
    expect(s.setup).toEqual({ message: "Installing: ComfyUI-KJNodes 3f20054", done: null, total: null });
    s = reduce(s, { event: "stage", jobId: "j3", stage: "downloadingModels", previous: "installingSoftware", previousMs: 200000, elapsedMs: 290000 });
    s = reduce(s, {
      event: "podSetup",
      jobId: "j3",
      message: "Downloading model 3 of 8 (12.1 of 32.7 GB)",
      doneBytes: 12_100_000_000,
      totalBytes: 32_700_000_000,
    });
    expect(s.stage).toBe("downloadingModels");
    expect(s.setup?.done).toBe(12_100_000_000);
    expect(s.rows.map((r) => r.stage)).toEqual(["installingSoftware", "downloadingModels"]);
  });

  it("keeps the error of a failed job", () => {
    const s = reduce(initialRender(0), {
      event: "finished",
      jobId: "j2",
      stage: "failed",
      outputs: [],
      costUsd: 0.5,
      error: { code: "runpod.no_capacity", message: "No GPU of the chosen types is free right now." },
    });
    expect(s.stage).toBe("failed");
    expect(s.error?.code).toBe("runpod.no_capacity");
  });
});
