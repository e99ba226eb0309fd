import type { PodStart } from "../batch";
import { formatDuration } from "../format";
import { formatUsd } from "../jobs";

/// What a new GPU does before its first render, as the engine priced it (the pinned
/// environment's model download; with a model volume, the shorter start of later renders).
/// Nothing for the user's own server or image, which download nothing of ours.
export function PodStartNote({ start }: { start: PodStart | null | undefined }) {
  if (!start || start.downloadBytes <= 0) return null;
  const gb = (start.downloadBytes / 1e9).toFixed(1);
  const cost = `about ${formatDuration(start.downloadSecs)}, ${formatUsd(start.downloadUsd)}`;
  return (
    <p className="pod-start" data-testid="pod-start">
      Each new GPU first installs the software and downloads {gb} GB of models ({cost})
      {start.volume && start.laterSecs != null
        ? ` once: your model volume keeps them, so later renders start in about ${formatDuration(start.laterSecs)}.`
        : ". Keep models between renders in Settings to download them only once."}
    </p>
  );
}
