// Folds a job's events into what the progress view shows.
import type { JobEvent, Stage } from "./jobs";

export interface StageRow {
  stage: Stage;
  startedAtMs: number;
  durationMs: number | null;
}

export interface RenderState {
  jobId: string | null;
  stage: Stage;
  rows: StageRow[];
  startedAt: number;
  costUsd: number;
  rateUsdPerHour: number;
  sampling: { value: number; max: number } | null;
  fraction: number | null;
  transfer: { direction: "upload" | "download"; file: string; done: number; total: number | null } | null;
  /// The pod's own start-up, as its bootstrap reports it.
  setup: { message: string; done: number | null; total: number | null } | null;
  outputs: string[];
  error: { code: string; message: string } | null;
  finished: boolean;
}

export function initialRender(now: number): RenderState {
  return {
    jobId: null,
    stage: "queued",
    rows: [],
    startedAt: now,
    costUsd: 0,
    rateUsdPerHour: 0,
    sampling: null,
    fraction: null,
    transfer: null,
    setup: null,
    outputs: [],
    error: null,
    finished: false,
  };
}

export function reduce(s: RenderState, e: JobEvent): RenderState {
  switch (e.event) {
    case "stage": {
      const rows = s.rows.map((r, i) => (i === s.rows.length - 1 && r.durationMs == null ? { ...r, durationMs: e.previousMs } : r));
      rows.push({ stage: e.stage, startedAtMs: e.elapsedMs, durationMs: null });
      return { ...s, jobId: e.jobId, stage: e.stage, rows, fraction: null, transfer: null };
    }
    case "progress":
      return { ...s, fraction: e.fraction };
    case "podSetup":
      return { ...s, setup: { message: e.message, done: e.doneBytes, total: e.totalBytes } };
    case "sampling":
      return { ...s, sampling: { value: e.value, max: e.max } };
    case "transfer":
      return { ...s, transfer: { direction: e.direction, file: e.file, done: e.done, total: e.total } };
    case "cost":
      return { ...s, costUsd: e.usd, rateUsdPerHour: e.rateUsdPerHour };
    case "finished": {
      const rows = s.rows.map((r, i) => (i === s.rows.length - 1 && r.durationMs == null ? { ...r, durationMs: 0 } : r));
      return { ...s, jobId: e.jobId, stage: e.stage, rows, finished: true, outputs: e.outputs, costUsd: e.costUsd, error: e.error };
    }
    default:
      // The batch's own events (leases, its cost) are the queue's business (queueState.ts).
      return s;
  }
}
