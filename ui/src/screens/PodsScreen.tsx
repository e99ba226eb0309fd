import { useCallback, useEffect, useState } from "react";
import { asStudioError, type StudioError } from "../api";
import { formatUsd, jobs, type PodEvent, type PodView } from "../jobs";

function uptime(secs: number | null) {
  if (secs == null) return "—";
  const m = Math.floor(secs / 60);
  return m < 1 ? `${Math.round(secs)} s` : m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/// `job:<id>`: one render; `batch:<id>`: a queue of renders; none: a pod you started.
function ownerText(owner: string | null) {
  if (!owner) return "started by you, free for renders";
  const [kind, id] = owner.includes(":") ? owner.split(":", 2) : ["job", owner];
  return `${kind === "batch" ? "rendering a batch" : "rendering"} ${id.slice(0, 8)}`;
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export function PodsScreen() {
  const [pods, setPods] = useState<PodView[] | null>(null);
  const [loadedAt, setLoadedAt] = useState(Date.now());
  const [now, setNow] = useState(Date.now());
  const [error, setError] = useState<StudioError | null>(null);
  const [starting, setStarting] = useState<PodEvent | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    jobs.pods().then(
      (p) => {
        setPods(p);
        setLoadedAt(Date.now());
        setError(null);
      },
      (e) => setError(asStudioError(e)),
    );
  }, []);

  useEffect(() => {
    load();
    const refresh = setInterval(load, 5000);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearInterval(refresh);
      clearInterval(tick);
    };
  }, [load]);

  async function act(action: () => Promise<unknown>) {
    setBusy(true);
    try {
      await action();
    } catch (e) {
      setError(asStudioError(e));
    } finally {
      setBusy(false);
      load();
    }
  }

  const since = (now - loadedAt) / 1000;
  const live = (p: PodView) => (p.costUsd == null ? null : p.costUsd + (p.status === "RUNNING" ? (p.rateUsdPerHour * since) / 3600 : 0));
  const total = (pods ?? []).reduce((sum, p) => sum + (live(p) ?? 0), 0);

  return (
    <section data-testid="screen-pods" className="screen">
      <div className="row spread">
        <h1>Pods</h1>
        <div className="row">
          <button
            className="primary"
            disabled={busy || starting != null}
            data-testid="pod-start"
            title="Start a GPU now and keep it warm for several renders. You pay until you terminate it."
            onClick={() =>
              act(async () => {
                setStarting({ podId: null, gpuId: null, stage: "creating", label: "Finding a GPU", elapsedSecs: 0, costUsd: 0, message: "" });
                try {
                  await jobs.startWarmPod((e) => {
                    setStarting(e);
                    load();
                  });
                } finally {
                  setStarting(null);
                }
              })
            }
          >
            Start pod
          </button>
          {pods && pods.length > 0 && (
            <button className="danger" disabled={busy} data-testid="pod-terminate-all" onClick={() => act(jobs.terminateAll)}>
              Terminate all
            </button>
          )}
        </div>
      </div>
      <p className="lead">
        A pod is a GPU computer rented from RunPod by the second. Renders start and end their own pods; a pod you start
        here stays warm for your next renders, and stops by itself once unused for the minutes set in Settings.
      </p>
      {starting && (
        <div className="panel" data-testid="pod-starting">
          <strong>{starting.label}</strong> <span className="muted">{Math.round(starting.elapsedSecs)} s · {formatUsd(starting.costUsd)}</span>
          {starting.message && <p className="muted small">{starting.message}</p>}
        </div>
      )}
      {error && (
        <p className="error-box" role="alert" data-testid="pods-error">
          {error.message}
        </p>
      )}
      {pods && pods.length === 0 && !starting && (
        <div className="empty" data-testid="pods-empty">
          <h2>No pods running</h2>
          <p>Nothing is billing right now. When you render, the pod appears here with its running cost.</p>
        </div>
      )}
      {pods && pods.length > 0 && (
        <table className="pods" data-testid="pods-table">
          <thead>
            <tr>
              <th>Pod</th>
              <th>GPU</th>
              <th>Status</th>
              <th>Up</th>
              <th>Cost</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {pods.map((p) => (
              <tr key={p.podId} data-testid="pod-row">
                <td>
                  <code>{p.podId}</code>
                  <div className="muted small" data-testid="pod-owner">
                    {ownerText(p.owner)}
                  </div>
                  {p.idleStopsAtMs != null && (
                    <div className="muted small" data-testid="pod-idle-stop" title="Change the minutes in Settings › Preferences">
                      stops at {clock(p.idleStopsAtMs)} if unused
                    </div>
                  )}
                </td>
                <td>{p.gpuId ?? "—"}</td>
                <td data-testid="pod-status">
                  {p.status}
                  {p.stage && <div className="muted small">{p.stage.replace(/_/g, " ")}</div>}
                </td>
                <td>{uptime(p.uptimeSecs == null ? null : p.uptimeSecs + since)}</td>
                <td data-testid="pod-cost">{live(p) == null ? "—" : formatUsd(live(p)!)}</td>
                <td>
                  <button className="danger" disabled={busy} onClick={() => act(() => jobs.terminatePod(p.podId))} data-testid="pod-terminate">
                    Terminate
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={4}>Running total</td>
              <td data-testid="pods-total">{formatUsd(total)}</td>
              <td />
            </tr>
          </tfoot>
        </table>
      )}
    </section>
  );
}
