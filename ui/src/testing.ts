// Shared fixtures for UI tests: a fake Rust side behind Tauri's IPC mock.
import { clearMocks, mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { MediaFacts, ProbedFile, Settings } from "./api";

export function facts(overrides: Partial<MediaFacts>): MediaFacts {
  return {
    path: "/tmp/dance.mp4",
    fileName: "dance.mp4",
    fileSize: 2_000_000,
    kind: "video",
    container: "MP4",
    codec: "h264",
    width: 320,
    height: 240,
    rotation: 0,
    durationSecs: 2,
    frameRate: 25,
    frameCount: 50,
    hasAudio: false,
    checks: [],
    ...overrides,
  };
}

export const defaultSettings: Settings = {
  ownImage: false,
  podImage: "",
  gpuIds: ["NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB"],
  outputDir: null,
  comfyUrl: null,
  demoMode: false,
  podCloud: "SECURE",
  podDiskGb: 20,
  podEnv: {},
  networkVolumeId: null,
  networkVolumeDataCenter: null,
  podStartCommand: null,
  podMaxLifetimeHours: 4,
  budgetUsd: 5,
  autoSweep: false,
  maxPods: 1,
  warmIdleMinutes: 10,
};

export type Handler = (cmd: string, args: Record<string, unknown>) => unknown;

/// Installs a fake backend; `files` maps paths to probe results or {code, message} errors.
export function fakeBackend(files: Record<string, ProbedFile | { code: string; message: string }>, extra?: Handler) {
  clearMocks();
  mockWindows("main");
  let key: string | null = null;
  let settings = { ...defaultSettings };
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const fromExtra = extra?.(cmd, args);
    if (fromExtra !== undefined) return fromExtra;
    switch (cmd) {
      case "probe_media": {
        const r = files[args.path as string];
        if (!r) throw { code: "media.not_found", message: "That file is gone." };
        if ("code" in r) throw r;
        return r;
      }
      case "get_key_status":
        return { source: key ? "keychain" : "none", lastFour: key ? key.slice(-4) : null };
      case "save_api_key":
        key = args.key as string;
        return { source: "keychain", lastFour: key.slice(-4) };
      case "remove_api_key":
        key = null;
        return { source: "none", lastFour: null };
      case "get_settings":
      case "restore_default_settings":
        return { settings, defaults: defaultSettings, defaultOutputDir: "/data/renders" };
      case "save_settings":
        settings = args.settings as Settings;
        return { settings, defaults: defaultSettings, defaultOutputDir: "/data/renders" };
      case "app_info":
        return { version: "0.1.0", dataDir: "/data", demo: false };
      case "gallery_list":
      case "startup_report":
      case "pods_list":
      case "pods_orphans":
      case "render_queue":
        return [];
      case "plugin:event|listen":
        return 1;
      default:
        return null;
    }
  }, { shouldMockEvents: true });
  return { calls };
}
