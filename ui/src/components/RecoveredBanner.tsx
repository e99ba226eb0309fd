import { useEffect, useState } from "react";
import { formatUsd, jobs, type Recovered } from "../jobs";

/// Says what became of renders the last session left when it ended unexpectedly: finished in
/// the background (by this start, or already by the crash guard), or stopped with their GPU.
export function RecoveredBanner({ onShowGallery }: { onShowGallery: () => void }) {
  const [items, setItems] = useState<Recovered[]>([]);
  const [dismissed, setDismissed] = useState(false);

  useEffect(() => {
    jobs.startupReport().then((r) => setItems(r ?? []), () => undefined);
  }, []);

  if (dismissed || items.length === 0) return null;
  return (
    <div className="recovered-banner" role="status" data-testid="recovered-banner">
      <span>{recoveredText(items)}</span>
      {items.some((r) => r.to === "done") && (
        <button className="link" onClick={onShowGallery} data-testid="recovered-gallery">
          Show in Gallery
        </button>
      )}
      <button className="link" onClick={() => setDismissed(true)} aria-label="Dismiss">
        OK
      </button>
    </div>
  );
}

export function recoveredText(items: Recovered[]): string {
  const done = items.filter((r) => r.to === "done").length;
  const pending = items.filter((r) => r.to === r.from).length;
  const stopped = items.length - done - pending;
  const cost = items.reduce((s, r) => s + r.costUsd, 0);
  const parts = ["The app ended unexpectedly while rendering."];
  if (done) parts.push(done === 1 ? "The render was finished in the background." : `${done} renders were finished in the background.`);
  if (stopped) parts.push(stopped === 1 ? "One render could not be finished; its GPU was shut down." : `${stopped} renders could not be finished; their GPUs were shut down.`);
  if (pending) parts.push("RunPod did not answer for one or more; the app will try again and the Pods screen shows what still runs.");
  parts.push(`GPU time used: ${formatUsd(cost)}.`);
  return parts.join(" ");
}
