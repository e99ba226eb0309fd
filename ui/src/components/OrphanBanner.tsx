import { useEffect, useState } from "react";
import { listen } from "@tauri-apps/api/event";
import { formatUsd, jobs, type PodView } from "../jobs";

/// Pods of ours that no render uses (left by a crash, or started elsewhere): shown once the
/// start-up recovery is done, with their running cost and a one-click terminate.
export function OrphanBanner({ onShowPods }: { onShowPods: () => void }) {
  const [orphans, setOrphans] = useState<PodView[]>([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    const check = () => jobs.orphans().then(setOrphans, () => undefined);
    listen("startup-settled", check).then((fn) => (unlisten = fn), () => undefined);
    check();
    return () => unlisten?.();
  }, []);

  if (orphans.length === 0) return null;
  const cost = orphans.reduce((s, p) => s + (p.costUsd ?? 0), 0);
  return (
    <div className="orphan-banner" role="alert" data-testid="orphan-banner">
      <span>
        {orphans.length === 1 ? "A pod" : `${orphans.length} pods`} from an earlier session {orphans.length === 1 ? "is" : "are"} still running and
        billing ({formatUsd(cost)} so far).
      </span>
      <button
        className="danger"
        disabled={busy}
        data-testid="orphan-terminate"
        onClick={async () => {
          setBusy(true);
          for (const p of orphans) await jobs.terminatePod(p.podId).catch(() => undefined);
          setBusy(false);
          setOrphans(await jobs.orphans().catch(() => []));
        }}
      >
        {busy ? "Terminating…" : "Terminate now"}
      </button>
      <button className="link" onClick={onShowPods}>
        Show pods
      </button>
    </div>
  );
}
