// Types and calls for renders, the gallery and pods; shapes match crates/jobs and crates/pods.
import { Channel, invoke } from "@tauri-apps/api/core";
import { asStudioError } from "./api";

export type Stage =
  | "queued"
  | "checkingInputs"
  | "normalising"
  | "startingPod"
  | "installingSoftware"
  | "downloadingModels"
  | "waitingForComfy"
  | "waitingForModels"
  | "uploading"
  | "queuedOnComfy"
  | "generating"
  | "downloading"
  | "verifying"
  | "tearingDown"
  | "done"
  | "failed"
  | "cancelled"
  | "interrupted";

/// How start-up (or the crash guard of a session that died) settled a render a crash interrupted.
export interface Recovered {
  jobId: string;
  from: Stage;
  /// Equal to `from` when it could not be settled yet (RunPod did not answer).
  to: Stage;
  costUsd: number;
  error: { code: string; message: string } | null;
}

export const STAGE_LABELS: Record<Stage, string> = {
  queued: "Queued",
  checkingInputs: "Checking your files",
  normalising: "Preparing the video",
  startingPod: "Starting a GPU",
  installingSoftware: "Installing the software",
  downloadingModels: "Downloading the models",
  waitingForComfy: "Waiting for ComfyUI",
  waitingForModels: "Waiting for the models",
  uploading: "Uploading",
  queuedOnComfy: "Queued on the GPU",
  generating: "Generating",
  downloading: "Downloading the result",
  verifying: "Checking the result",
  tearingDown: "Shutting the GPU down",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
  interrupted: "Interrupted",
};

export type Target = { kind: "newPod"; gpuIds: string[] } | { kind: "warmPod"; podId: string } | { kind: "comfyUrl"; url: string };

export interface RenderOptions {
  trimStart?: number | null;
  trimEnd?: number | null;
  orientation?: "portrait" | "landscape" | null;
  fit?: "crop" | "pad" | null;
}

export interface JobSpec {
  image: string;
  video: string;
  manifest: string;
  params: Record<string, unknown>;
  target: Target;
  outDir: string;
  budgetUsd: number | null;
  normalise: RenderOptions;
}

export interface Estimate {
  frames: number;
  steps: number;
  rateUsdPerHour: number;
  startupSecs: number;
  generationSecs: number;
  totalSecs: number;
  costUsd: number;
  /** Model bytes the new pod downloads, and the time and money that takes (already in the totals). */
  downloadBytes?: number;
  downloadSecs?: number;
  downloadUsd?: number;
  /** With a model volume: each later render, once the volume holds the models. */
  laterCostUsd?: number | null;
  /** With a model volume: a later pod's start (nothing to install or download). */
  laterStartupSecs?: number | null;
}

export interface StageTime {
  stage: Stage;
  startedMs: number;
  endedMs: number | null;
}

export type JobEvent =
  | { event: "stage"; jobId: string; stage: Stage; previous: Stage | null; previousMs: number; elapsedMs: number }
  | { event: "progress"; jobId: string; stage: Stage; fraction: number }
  | { event: "podSetup"; jobId: string; message: string; doneBytes: number | null; totalBytes: number | null }
  | { event: "sampling"; jobId: string; value: number; max: number }
  | { event: "transfer"; jobId: string; direction: "upload" | "download"; file: string; done: number; total: number | null }
  | { event: "cost"; jobId: string; usd: number; rateUsdPerHour: number; elapsedSecs: number }
  | { event: "finished"; jobId: string; stage: Stage; outputs: string[]; costUsd: number; error: { code: string; message: string } | null }
  | BatchEvent;

/// A batch's own events; each render's are the ones above, keyed by its job id.
export type BatchEvent =
  | { event: "batchStarted"; batchId: string; jobIds: string[] }
  | { event: "batchCost"; batchId: string; usd: number; budgetUsd: number | null }
  | { event: "lease"; batchId: string; podId: string; gpuId: string | null; rateUsdPerHour: number; state: LeaseState }
  | { event: "batchFinished"; batchId: string; done: number; failed: number; cancelled: number; costUsd: number };

export type LeaseState = "starting" | "ready" | "released" | "terminated";

export interface GalleryEntry {
  id: string;
  createdMs: number;
  video: string;
  thumbnail: string | null;
  /// The first frame as a data: URL.
  thumbnailData: string | null;
  spec: JobSpec;
  gpuId: string | null;
  stages: StageTime[];
  costUsd: number;
  missing: boolean;
}

export interface PodView {
  podId: string;
  name: string;
  status: string;
  gpuId: string | null;
  rateUsdPerHour: number;
  uptimeSecs: number | null;
  costUsd: number | null;
  /// The readiness stage last recorded for pods the app started.
  stage: string | null;
  /// Who holds it: `job:<id>` (a render alone), `batch:<id>` (a queue), none (a pod you started).
  owner: string | null;
  /// A pod you started: when the idle timer stops it if no render uses it (ms since the epoch).
  idleStopsAtMs?: number | null;
}

export interface PodEvent {
  podId: string | null;
  gpuId: string | null;
  stage: string;
  label: string;
  elapsedSecs: number;
  costUsd: number;
  message: string;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asStudioError(e);
  }
}

export const jobs = {
  gallery: () => call<GalleryEntry[]>("gallery_list"),
  deleteEntry: (id: string, deleteFiles: boolean) => call<void>("gallery_delete", { id, deleteFiles }),
  revealFile: (path: string) => call<void>("reveal_file", { path }),
  startupReport: () => call<Recovered[]>("startup_report"),
  /// `null`: the webview plays the `asset:` URL itself.
  videoUrl: (path: string) => call<string | null>("video_url", { path }),
  pods: () => call<PodView[]>("pods_list"),
  orphans: () => call<PodView[]>("pods_orphans"),
  terminatePod: (podId: string) => call<void>("pods_terminate", { podId }),
  terminateAll: () => call<number>("pods_terminate_all"),
  startWarmPod: (onEvent: (e: PodEvent) => void) => {
    const channel = new Channel<PodEvent>();
    channel.onmessage = onEvent;
    return call<PodView>("pods_start", { onEvent: channel });
  },
};

export function formatUsd(usd: number): string {
  if (usd < 0.01) return `$${usd.toFixed(3)}`;
  return `$${usd.toFixed(2)}`;
}
