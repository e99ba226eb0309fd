// Every call into the Rust side goes through here; errors arrive as {code, message}.
import { invoke } from "@tauri-apps/api/core";

export interface StudioError {
  code: string;
  message: string;
}

export function asStudioError(e: unknown): StudioError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    return e as StudioError;
  }
  return { code: "internal", message: String(e) };
}

export interface Check {
  severity: "warning" | "error";
  code: string;
  message: string;
}

export interface MediaFacts {
  path: string;
  fileName: string;
  fileSize: number;
  kind: "image" | "video";
  container: string;
  codec: string;
  width: number;
  height: number;
  rotation: number;
  durationSecs: number | null;
  frameRate: number | null;
  frameCount: number | null;
  hasAudio: boolean;
  checks: Check[];
}

export interface ProbedFile {
  facts: MediaFacts;
  thumbnail: string | null;
}

export interface Settings {
  /** An image of the user's own instead of the pinned environment (advanced, unchecked). */
  ownImage: boolean;
  podImage: string;
  gpuIds: string[];
  outputDir: string | null;
  comfyUrl: string | null;
  demoMode: boolean;
  podCloud: string;
  podDiskGb: number;
  podEnv: Record<string, string>;
  networkVolumeId: string | null;
  networkVolumeDataCenter: string | null;
  podStartCommand: string | null;
  podMaxLifetimeHours: number;
  budgetUsd: number | null;
  autoSweep: boolean;
  /** Pods a batch may rent at once (1..8): more finish sooner, each pays its own cold start. */
  maxPods: number;
  /** A pod the user started stops after this many minutes without a render. */
  warmIdleMinutes: number;
}

export interface SettingsView {
  settings: Settings;
  defaults: Settings;
  defaultOutputDir: string;
}

export interface KeyStatus {
  source: "none" | "keychain" | "environment";
  lastFour: string | null;
}

export interface AppInfo {
  version: string;
  dataDir: string;
  demo: boolean;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asStudioError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  /// The file dialog, opened by the Rust side: only files chosen there or dropped can be opened.
  pickMediaFiles: () => call<string[]>("pick_media_files"),
  probeMedia: (path: string) => call<ProbedFile>("probe_media", { path }),
  checkPair: (photo: string, video: string) => call<Check[]>("check_pair", { photo, video }),
  getSettings: () => call<SettingsView>("get_settings"),
  saveSettings: (settings: Settings) => call<SettingsView>("save_settings", { settings }),
  restoreDefaultSettings: () => call<SettingsView>("restore_default_settings"),
  getKeyStatus: () => call<KeyStatus>("get_key_status"),
  saveApiKey: (key: string) => call<KeyStatus>("save_api_key", { key }),
  removeApiKey: () => call<KeyStatus>("remove_api_key"),
};
