import { useCallback, useEffect, useState } from "react";
import { asStudioError, type StudioError } from "../api";
import { modelCache, perMonth, type ModelCacheStatus } from "../modelCache";

type Busy = null | "creating" | "deleting";

/// The model volume lives here, not among the typed pod settings: it is made and deleted on
/// RunPod and bills until deleted, so the app keeps its id and data centre itself.
export function ModelCacheSection() {
  const [status, setStatus] = useState<ModelCacheStatus | null>(null);
  const [error, setError] = useState<StudioError | null>(null);
  const [busy, setBusy] = useState<Busy>(null);
  const [confirming, setConfirming] = useState(false);

  const load = useCallback(() => {
    setError(null);
    modelCache.status().then(setStatus, (e) => setError(asStudioError(e)));
  }, []);
  useEffect(load, [load]);

  async function keep(enable: boolean) {
    setBusy(enable ? "creating" : "deleting");
    setConfirming(false);
    setError(null);
    try {
      setStatus(await modelCache.keep(enable));
    } catch (e) {
      setError(asStudioError(e));
    } finally {
      setBusy(null);
    }
  }

  const blocked = busy !== null || status?.note != null;
  const vanished = status?.enabled && status.exists === false;

  return (
    <section className="panel" data-testid="model-cache">
      <h2>Keep models between renders</h2>
      <p className="muted">
        Every new pod downloads the SteadyDancer models{status ? ` (about ${Math.round(status.modelBytes / 1e9)} GB)` : ""} before it can render. A RunPod network volume
        keeps them, and the pinned software, from one pod to the next, so only the first render waits for the
        download. It bills every month until you delete it, and pods then start only in its data centre.
      </p>
      {!status && !error && <p className="muted" data-testid="model-cache-loading">Asking RunPod about the volume…</p>}
      {status && status.enabled && !vanished && (
        <p data-testid="model-cache-on">
          Models are kept on <code>{status.volumeName ?? status.volumeId}</code> in {status.dataCenter ?? "an unknown data centre"}:{" "}
          {status.sizeGb} GB, about {perMonth(status.monthlyCostUsd)}.
        </p>
      )}
      {vanished && (
        <p className="error-box" data-testid="model-cache-vanished">
          The volume <code>{status.volumeId}</code> no longer exists on RunPod (deleted in the RunPod console?), so
          pods cannot mount it. Create a new one, or stop keeping models.
        </p>
      )}
      {status && !status.enabled && (
        <p data-testid="model-cache-off">
          Off. A volume would hold {status.newSizeGb} GB and cost about {perMonth(status.newMonthlyCostUsd)}
          {` ($${status.usdPerGbMonth.toFixed(2)} per GB).`} It goes to a data centre that has your GPU types, first
          choices first.
        </p>
      )}
      {status?.note && (
        <p className="muted" data-testid="model-cache-note">
          {status.note}
        </p>
      )}
      {status && (
        <div className="row actions">
          {(!status.enabled || vanished) && (
            <button className="primary" disabled={blocked} onClick={() => keep(true)} data-testid="model-cache-create">
              {busy === "creating"
                ? "Creating the volume…"
                : `${vanished ? "Create a new volume" : "Keep models"} (${perMonth(status.newMonthlyCostUsd)})`}
            </button>
          )}
          {status.enabled && !confirming && (
            <button
              className="danger"
              disabled={blocked}
              onClick={() => (vanished ? keep(false) : setConfirming(true))}
              data-testid="model-cache-delete"
            >
              {busy === "deleting" ? "Deleting…" : vanished ? "Stop keeping models" : "Delete the volume…"}
            </button>
          )}
        </div>
      )}
      {confirming && status && (
        <div className="error-box" role="alertdialog" data-testid="model-cache-confirm">
          <p>
            Delete <code>{status.volumeName ?? status.volumeId}</code> and the models cached on it? The next render
            downloads them again.
          </p>
          <div className="row">
            <button className="danger" onClick={() => keep(false)} data-testid="model-cache-confirm-delete">
              Delete the volume
            </button>
            <button onClick={() => setConfirming(false)} data-testid="model-cache-keep">
              Keep it
            </button>
          </div>
        </div>
      )}
      {error && (
        <div className="error-box" role="alert" data-testid="model-cache-error">
          {error.message}{" "}
          {!status && (
            <button className="link" onClick={load}>
              Try again
            </button>
          )}
        </div>
      )}
    </section>
  );
}
