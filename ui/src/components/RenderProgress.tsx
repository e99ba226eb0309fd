import { useEffect, useState } from "react";
import { formatUsd, STAGE_LABELS } from "../jobs";
import type { RenderState } from "../renderState";
import { formatBytes } from "../format";

function secs(ms: number) {
  const s = Math.max(0, ms / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

interface Props {
  state: RenderState;
  onCancel: () => void;
  cancelling: boolean;
  /// Demo renders show what a real render would cost, marked so nobody thinks it was billed.
  demo?: boolean;
}

export function RenderProgress({ state, onCancel, cancelling, demo = false }: Props) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  const elapsed = now - state.startedAt;
  const current = state.rows[state.rows.length - 1];
  const bar =
    state.stage === "generating" && state.sampling
      ? state.sampling.value / Math.max(1, state.sampling.max)
      : state.transfer?.total
        ? state.transfer.done / state.transfer.total
        : state.stage === "downloadingModels" && state.setup?.total
          ? (state.setup.done ?? 0) / state.setup.total
          : state.fraction;
  const podStarting = ["startingPod", "installingSoftware", "downloadingModels", "waitingForComfy", "waitingForModels"].includes(state.stage);
  return (
    <section className="panel" data-testid="render-progress">
      <div className="progress-head">
        <h2 data-testid="render-stage">{STAGE_LABELS[state.stage]}</h2>
        <div className="meters">
          <span title="Time since you pressed Render">{secs(elapsed)}</span>
          <span
            className="cost"
            data-testid="live-cost"
            title={demo ? "What this would cost on RunPod; the demo bills nothing" : "Live GPU cost of this render"}
          >
            {formatUsd(state.costUsd)}
            {demo && <span className="demo-tag small"> simulated</span>}
          </span>
        </div>
      </div>
      <div className="bar" aria-label="progress">
        <div className="bar-fill" style={{ width: `${Math.round((bar ?? 0) * 100)}%` }} data-testid="progress-bar" />
      </div>
      <p className="muted small">
        {state.stage === "generating" && state.sampling
          ? `Step ${state.sampling.value} of ${state.sampling.max}`
          : state.transfer
            ? `${state.transfer.direction === "upload" ? "Uploading" : "Downloading"} ${state.transfer.file}: ${formatBytes(state.transfer.done)}${state.transfer.total ? ` of ${formatBytes(state.transfer.total)}` : ""}`
            : podStarting && state.setup
              ? <span data-testid="pod-setup">{state.setup.message}</span>
              : podStarting
                ? "A first start can take several minutes while the GPU downloads the models."
                : " "}
      </p>
      <ol className="timeline" data-testid="stage-timeline">
        {state.rows.map((r, i) => (
          <li key={`${r.stage}-${i}`} className={r === current && !state.finished ? "current" : "done"}>
            <span>{STAGE_LABELS[r.stage]}</span>
            <span className="muted">{r.durationMs != null ? secs(r.durationMs) : secs(elapsed - r.startedAtMs)}</span>
          </li>
        ))}
      </ol>
      <button className="danger" onClick={onCancel} disabled={cancelling} data-testid="render-cancel">
        {cancelling ? "Cancelling…" : "Cancel render"}
      </button>
    </section>
  );
}
