// The local pose preview: model status and download, the preview stream, and the state the
// Create screen keeps from its events. Shapes match crates/app/src/pose_preview.rs.
import { Channel, invoke } from "@tauri-apps/api/core";
import { asStudioError, type StudioError } from "./api";

export interface ModelStatus {
  file: string;
  ready: boolean;
  have: number;
  expected: number | null;
  optional: boolean;
}

export interface PoseModelsStatus {
  ready: boolean;
  engine_upgrade: boolean;
  files: ModelStatus[];
  expected_bytes: number;
  dir: string;
  downloading: boolean;
}

export interface DownloadProgress {
  file: string;
  done: number;
  total: number | null;
}

export interface FrameCheck {
  people: number;
  no_person: boolean;
  multiple_people: boolean;
  cut_off: boolean;
  low_confidence: boolean;
  body_score: number;
}

export interface CheckSummary {
  frames: number;
  no_person: number[];
  multiple_people: number[];
  cut_off: number[];
  low_confidence: number[];
  dancer_leaves_frame: boolean;
  warnings: { code: string; message: string }[];
}

export interface PreviewSummary {
  checks: CheckSummary;
  frames: number;
  cancelled: boolean;
  first_frame_after_ms: number | null;
  elapsed_ms: number;
}

export interface FrameInfo {
  index: number;
  pts_secs: number;
  width: number;
  height: number;
  check: FrameCheck;
}

export type PreviewEvent =
  | { kind: "loading" }
  | { kind: "started"; total_frames: number | null; every_nth: number; engine: string }
  | { kind: "frame"; info: FrameInfo; picture: string; skeleton: string }
  | { kind: "finished"; summary: PreviewSummary };

export interface PoseFrame {
  index: number;
  secs: number;
  picture: string;
  skeleton: string;
  check: FrameCheck;
}

export type PreviewStatus = "idle" | "loading" | "running" | "done" | "cancelled" | "failed";

export interface PreviewState {
  video: string | null;
  status: PreviewStatus;
  frames: PoseFrame[];
  total: number | null;
  engine: string | null;
  summary: CheckSummary | null;
  error: StudioError | null;
  startedAt: number;
  firstFrameMs: number | null;
}

export function initialPreview(video: string | null, now: number): PreviewState {
  return { video, status: video ? "loading" : "idle", frames: [], total: null, engine: null, summary: null, error: null, startedAt: now, firstFrameMs: null };
}

export function reducePreview(s: PreviewState, e: PreviewEvent, now: number): PreviewState {
  switch (e.kind) {
    case "loading":
      return { ...s, status: "loading" };
    case "started":
      return { ...s, status: "running", total: e.total_frames, engine: e.engine };
    case "frame":
      return {
        ...s,
        status: "running",
        firstFrameMs: s.firstFrameMs ?? now - s.startedAt,
        frames: [...s.frames, { index: e.info.index, secs: e.info.pts_secs, picture: e.picture, skeleton: e.skeleton, check: e.info.check }],
      };
    case "finished":
      return { ...s, status: e.summary.cancelled ? "cancelled" : "done", summary: e.summary.checks };
  }
}

export type Severity = "ok" | "warning";

export interface Badge {
  code: string;
  severity: Severity;
  text: string;
}

/// Badges for the frames seen so far: while the preview runs they count up; once it is done the
/// engine's summary (with its advice) replaces them.
export function badges(s: PreviewState): Badge[] {
  if (s.summary && s.status === "done") {
    if (s.summary.warnings.length === 0) {
      return [{ code: "pose.ok", severity: "ok", text: `One whole dancer in all ${s.summary.frames} preview frames.` }];
    }
    return s.summary.warnings.map((w) => ({ code: w.code, severity: "warning", text: w.message }));
  }
  const n = s.frames.length;
  if (n === 0) return [];
  const count = (f: (c: FrameCheck) => boolean) => s.frames.filter((x) => f(x.check)).length;
  const found: Badge[] = [];
  const add = (code: string, k: number, what: string) => k > 0 && found.push({ code, severity: "warning", text: `${k} of ${n} frames ${what}` });
  add("pose.no_person", count((c) => c.no_person), "show nobody");
  add("pose.multiple_people", count((c) => c.multiple_people), "show more than one person");
  add("pose.cut_off", count((c) => c.cut_off), "cut the body off at the edge");
  add("pose.low_confidence", count((c) => c.low_confidence), "have an unsure pose");
  return found.length ? found : [{ code: "pose.ok", severity: "ok", text: `One whole dancer in ${n} of ${n} frames so far` }];
}

export const pose = {
  status: () => invoke<PoseModelsStatus>("pose_models_status").catch((e) => Promise.reject(asStudioError(e))),
  async download(onProgress: (p: DownloadProgress) => void): Promise<PoseModelsStatus> {
    const channel = new Channel<DownloadProgress>();
    channel.onmessage = onProgress;
    try {
      return await invoke<PoseModelsStatus>("pose_models_download", { onProgress: channel });
    } catch (e) {
      throw asStudioError(e);
    }
  },
  cancelDownload: () => invoke<boolean>("pose_models_cancel_download"),
  async preview(video: string, onEvent: (e: PreviewEvent) => void): Promise<PreviewSummary> {
    const channel = new Channel<PreviewEvent>();
    channel.onmessage = onEvent;
    try {
      return await invoke<PreviewSummary>("pose_preview", { video, onEvent: channel });
    } catch (e) {
      throw asStudioError(e);
    }
  },
  cancel: () => invoke<boolean>("pose_preview_cancel"),
  warmUp: () => invoke<void>("pose_warm_up"),
};
