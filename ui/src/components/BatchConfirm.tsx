import type { BatchPlan } from "../batch";
import { fileNameOf, formatDuration } from "../format";
import { formatUsd } from "../jobs";
import { PodStartNote } from "./PodStartNote";

interface Props {
  plan: BatchPlan;
  poseWarnings: string[];
  onStart: () => void;
  onBack: () => void;
}

/// One price for the whole batch, before anything is rented: each render, the pods' cold starts,
/// the total and the cap.
export function BatchConfirm({ plan, poseWarnings, onStart, onBack }: Props) {
  const { estimate } = plan;
  const n = plan.renders.length;
  const ownServer = plan.renders[0]?.spec.target.kind === "comfyUrl";
  const rate = estimate.renders[0]?.rateUsdPerHour ?? 0;
  return (
    <div className="confirm batch-confirm" data-testid="render-confirm">
      <h3>
        {n} renders on {plan.targetLabel}
        {plan.demo && <span className="demo-tag"> · Demo: nothing is billed</span>}
      </h3>
      <table className="batch-table" data-testid="batch-renders">
        <thead>
          <tr>
            <th>#</th>
            <th>Photo</th>
            <th>Dance</th>
            <th className="num">Frames</th>
            <th className="num">Price</th>
          </tr>
        </thead>
        <tbody>
          {plan.renders.map((r, i) => (
            <tr key={`${r.image}|${r.video}`} data-testid="batch-render">
              <td>{i + 1}</td>
              <td title={r.image}>{fileNameOf(r.image)}</td>
              <td title={r.video}>{fileNameOf(r.video)}</td>
              <td className="num">{r.frames}</td>
              <td className="num">{formatUsd(estimate.renders[i]?.costUsd ?? 0)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          {!ownServer && (
            <tr data-testid="batch-cold-start">
              <td colSpan={4}>
                Starting {estimate.pods} {estimate.pods === 1 ? "GPU" : "GPUs"} (software and models load once per GPU
                {rate > 0 ? `, ${formatUsd(rate)}/hour each` : ""})
              </td>
              <td className="num">{formatUsd(estimate.coldStartUsd)}</td>
            </tr>
          )}
          <tr className="total" data-testid="batch-total">
            <td colSpan={4}>
              <strong>Total</strong> <span className="muted">· about {formatDuration(estimate.wallSecs)} to the last video</span>
            </td>
            <td className="num">
              <strong>{formatUsd(estimate.totalUsd)}</strong>
            </td>
          </tr>
        </tfoot>
      </table>
      <p data-testid="batch-terms">
        {ownServer
          ? "The renders run one after another on your own ComfyUI server."
          : `Up to ${plan.maxPods} ${plan.maxPods === 1 ? "GPU" : "GPUs"} at once (Settings › Pods at once); this batch uses ${estimate.pods}. Each GPU renders its share one after another without starting again, and is shut down after its last video.`}
        {plan.budgetUsd != null && (
          <>
            {" "}
            <span data-testid="batch-cap">Everything stops at {formatUsd(plan.budgetUsd)} whatever happens.</span>
          </>
        )}
      </p>
      <PodStartNote start={estimate.podStart} />
      <PoseWarnings warnings={poseWarnings} lead="The pose preview found problems in the selected dance that will show in its videos:" />
      <div className="row">
        <button className="primary" onClick={onStart} data-testid="render-confirm-yes">
          Start {n} renders
        </button>
        <button onClick={onBack} data-testid="render-confirm-no">
          Not now
        </button>
      </div>
    </div>
  );
}

/// What the local pose preview found wrong, repeated where the user decides to pay.
export function PoseWarnings({ warnings, lead }: { warnings: string[]; lead: string }) {
  if (warnings.length === 0) return null;
  return (
    <div data-testid="confirm-pose-warnings">
      <p>{lead}</p>
      <ul className="checks">
        {warnings.map((w) => (
          <li key={w} className="badge warning">
            {w}
          </li>
        ))}
      </ul>
    </div>
  );
}
