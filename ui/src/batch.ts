// Types and calls for batches and the render queue; shapes match studio-jobs and studio-app
// (crates/jobs/QUEUE.md). A single render is a batch of one.
import { Channel, invoke } from "@tauri-apps/api/core";
import { asStudioError, type StudioError } from "./api";
import type { Estimate, JobEvent, JobSpec, RenderOptions, Stage } from "./jobs";

/// What the Create screen asks for: every photo with every video.
export interface BatchRequest {
  images: string[];
  videos: string[];
  options: RenderOptions;
  params: Record<string, unknown>;
}

export interface BatchEstimate {
  /// One per render, in order.
  renders: Estimate[];
  /// Pods the batch will use: the lesser of "pods at once" and the number of renders.
  pods: number;
  coldStartUsd: number;
  totalUsd: number;
  /// Expected time to the last result.
  wallSecs: number;
  /// What each new pod does first; absent when nothing is rented (and in older journals).
  podStart?: PodStart | null;
}

/// A new pod's start, from the same estimate as a lone render's (crates/jobs/QUEUE.md).
export interface PodStart {
  secs: number;
  usdPerPod: number;
  /// Model bytes each new pod downloads, and the time and money that takes (inside the above).
  downloadBytes: number;
  downloadSecs: number;
  downloadUsd: number;
  /// With a model volume only the first pod installs and downloads; later ones start in `laterSecs`.
  volume: boolean;
  laterSecs: number | null;
}

export interface PlannedRender {
  image: string;
  video: string;
  frames: number;
  spec: JobSpec;
}

export interface BatchPlan {
  /// The plan stays on the Rust side; the batch starts from this id, never from specs sent back.
  planId: string;
  renders: PlannedRender[];
  estimate: BatchEstimate;
  maxPods: number;
  budgetUsd: number | null;
  targetLabel: string;
  demo: boolean;
}

/// One render as the queue shows it.
export interface QueueItem {
  jobId: string;
  batchId: string | null;
  /// 1-based place in its batch's queue order.
  position: number;
  image: string;
  video: string;
  stage: Stage;
  costUsd: number | null;
  outputs: string[];
  error: StudioError | null;
}

export interface BatchOutcome {
  batch: { id: string; jobIds: string[]; costUsd: number | null; finishedMs: number | null };
  renders: { jobId: string; stage: Stage; outputs: string[]; costUsd: number; error: StudioError | null }[];
}

export const ACTIVE_STAGES: Stage[] = [
  "checkingInputs",
  "normalising",
  "startingPod",
  "installingSoftware",
  "downloadingModels",
  "waitingForComfy",
  "waitingForModels",
  "uploading",
  "queuedOnComfy",
  "generating",
  "downloading",
  "verifying",
  "tearingDown",
];
export const FINAL_STAGES: Stage[] = ["done", "failed", "cancelled", "interrupted"];
export const isFinal = (s: Stage) => FINAL_STAGES.includes(s);
export const isActive = (s: Stage) => ACTIVE_STAGES.includes(s);

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asStudioError(e);
  }
}

function channelOf(onEvent: (e: JobEvent) => void) {
  const channel = new Channel<JobEvent>();
  channel.onmessage = onEvent;
  return channel;
}

export const batches = {
  plan: (request: BatchRequest) => call<BatchPlan>("plan_batch", { request }),
  /// Called only from the confirmation the user clicked; the Rust side refuses an unconfirmed start.
  start: (planId: string, onEvent: (e: JobEvent) => void) =>
    call<BatchOutcome>("start_batch", { planId, confirmed: true, onEvent: channelOf(onEvent) }),
  queue: () => call<QueueItem[]>("render_queue"),
  /// Running: cancelled (its pod stops billing for it); queued: removed from the queue.
  cancelRender: (jobId: string) => call<void>("cancel_render", { jobId }),
  cancelBatch: (batchId: string) => call<void>("cancel_batch", { batchId }),
  resume: (batchId: string, onEvent: (e: JobEvent) => void) =>
    call<BatchOutcome>("resume_batch", { batchId, onEvent: channelOf(onEvent) }),
};

/// "1 photo × 3 dances = 3 renders".
export function batchSummary(photos: number, videos: number): string {
  const n = photos * videos;
  return `${photos} ${photos === 1 ? "photo" : "photos"} × ${videos} ${videos === 1 ? "dance" : "dances"} = ${n} ${n === 1 ? "render" : "renders"}`;
}
