// Pose preview state for the Create screen: kept above the screen's phases so a render does not
// throw away a finished preview, and so a new video replaces (and stops) the old preview.
import { useCallback, useEffect, useRef, useState } from "react";
import { asStudioError, type StudioError } from "./api";
import { initialPreview, pose, reducePreview, type DownloadProgress, type PoseModelsStatus, type PreviewState } from "./pose";

export interface DownloadState {
  running: boolean;
  progress: Record<string, DownloadProgress>;
  error: StudioError | null;
}

const idleDownload: DownloadState = { running: false, progress: {}, error: null };

/// Overall download fraction, counting files already on disk as done. Before the models are
/// there, only they count (the optional engine library follows them in the same download).
export function downloadFraction(models: PoseModelsStatus | null, d: DownloadState): number {
  if (!models) return 0;
  let done = 0;
  let total = 0;
  for (const f of models.files) {
    if (f.optional && !models.ready && !d.progress[f.file]) continue;
    const p = d.progress[f.file];
    const size = p?.total ?? f.expected ?? 0;
    total += size;
    done += f.ready ? size : Math.min(p?.done ?? f.have, size);
  }
  return total > 0 ? done / total : 0;
}

export function usePosePreview(video: string | null) {
  const [models, setModels] = useState<PoseModelsStatus | null>(null);
  const [download, setDownload] = useState<DownloadState>(idleDownload);
  const [preview, setPreview] = useState<PreviewState>(() => initialPreview(null, Date.now()));
  const run = useRef(0);

  useEffect(() => {
    pose.status().then(setModels, () => setModels(null));
  }, []);

  const start = useCallback((path: string) => {
    const id = ++run.current;
    setPreview(initialPreview(path, Date.now()));
    const live = () => run.current === id;
    pose
      .preview(path, (e) => live() && setPreview((s) => reducePreview(s, e, Date.now())))
      .catch((e: unknown) => {
        const err = asStudioError(e);
        if (!live()) return;
        setPreview((s) => (err.code === "cancelled" ? { ...s, status: "cancelled" } : { ...s, status: "failed", error: err }));
      });
  }, []);

  const stop = useCallback(() => {
    pose.cancel().catch(() => undefined);
  }, []);

  const ready = models?.ready ?? false;
  useEffect(() => {
    if (!video) {
      run.current++;
      pose.cancel().catch(() => undefined);
      setPreview(initialPreview(null, Date.now()));
      return;
    }
    if (ready) start(video);
  }, [video, ready, start]);

  const downloadModels = useCallback(async () => {
    setDownload({ running: true, progress: {}, error: null });
    try {
      const status = await pose.download((p) => setDownload((d) => ({ ...d, progress: { ...d.progress, [p.file]: p } })));
      setDownload(idleDownload);
      setModels(status);
    } catch (e) {
      const err = asStudioError(e);
      setDownload((d) => ({ ...d, running: false, error: err.code === "cancelled" ? null : err }));
      pose.status().then(setModels, () => undefined);
    }
  }, []);

  const warmUp = useCallback(() => {
    if (ready) pose.warmUp().catch(() => undefined);
  }, [ready]);

  const cancelDownload = useCallback(() => {
    pose.cancelDownload().catch(() => undefined);
  }, []);

  return {
    models,
    download,
    preview,
    downloadModels,
    cancelDownload,
    stop,
    warmUp,
    restart: () => video && start(video),
  };
}

export type PosePreviewApi = ReturnType<typeof usePosePreview>;
