// "Keep models between renders": a RunPod network volume; shapes match crates/app/src/model_cache.rs.
import { invoke } from "@tauri-apps/api/core";
import { asStudioError } from "./api";

export interface ModelCacheStatus {
  /** Settings record a volume: pods mount it and start in its data centre. */
  enabled: boolean;
  volumeId: string | null;
  volumeName: string | null;
  dataCenter: string | null;
  sizeGb: number;
  monthlyCostUsd: number;
  /** false: RunPod no longer knows the recorded volume; null: not asked (see note). */
  exists: boolean | null;
  note: string | null;
  newSizeGb: number;
  newMonthlyCostUsd: number;
  usdPerGbMonth: number;
  /** What every pod without the volume downloads, from the lock. */
  modelBytes: number;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asStudioError(e);
  }
}

export const modelCache = {
  status: () => call<ModelCacheStatus>("model_cache_status"),
  /** true creates (or takes back) the volume; false deletes it and its cached models. */
  keep: (enable: boolean) => call<ModelCacheStatus>("keep_models", { enable }),
};

export function perMonth(usd: number): string {
  return `$${usd.toFixed(2)} a month`;
}
