import { useState, type ReactNode } from "react";
import { isActive, isFinal } from "../batch";
import { fileNameOf } from "../format";
import { formatUsd, STAGE_LABELS } from "../jobs";
import { counts, resumable, rows, type QueueRow } from "../queueState";
import type { RenderQueue } from "../useRenderQueue";
import { VideoPlayer } from "./VideoPlayer";

interface Props {
  queue: RenderQueue;
  onOpenGallery: (jobId: string) => void;
  /// Extra buttons under the list (a new batch, hide).
  children?: ReactNode;
}

function summary(list: QueueRow[], pods: number): string {
  const c = counts(list);
  const parts = [
    c.done && `${c.done} done`,
    c.running && `${c.running} running`,
    c.queued && `${c.queued} waiting`,
    c.failed && `${c.failed} failed`,
    c.cancelled && `${c.cancelled} cancelled`,
  ].filter(Boolean);
  if (pods > 0) parts.push(`${pods} ${pods === 1 ? "GPU" : "GPUs"} working`);
  return parts.join(" · ");
}

const videos = (n: number) => (n === 1 ? "1 video" : `${n} videos`);

export function QueuePanel({ queue, onOpenGallery, children }: Props) {
  const { state } = queue;
  const [playing, setPlaying] = useState<string | null>(null);
  const list = rows(state);
  const pods = Object.values(state.leases).filter((l) => l.state === "starting" || l.state === "ready").length;
  const open = list.some((r) => !isFinal(r.stage));
  const canResume = resumable(state);
  return (
    <section className="panel queue" data-testid="queue-panel">
      <div className="progress-head">
        <h2 data-testid="queue-title">
          {open ? (canResume ? "Renders waiting to resume" : `Queue: ${videos(list.length)}`) : `${list.length === 1 ? "1 render" : `${list.length} renders`} finished`}
        </h2>
        <div className="meters">
          <span
            className="cost"
            data-testid="queue-cost"
            title={state.demo ? "What this would cost on RunPod; the demo bills nothing" : "What the GPUs of this batch billed so far"}
          >
            {formatUsd(state.costUsd)}
            {state.budgetUsd != null && <span className="muted small"> of {formatUsd(state.budgetUsd)} cap</span>}
            {state.demo && <span className="demo-tag small"> simulated</span>}
          </span>
        </div>
      </div>
      <p className="muted small" data-testid="queue-summary">
        {summary(list, pods)}
        {!open && pods === 0 && " · No GPU is left running."}
      </p>
      {canResume && (
        <p className="notice-box" data-testid="queue-resume-note">
          The app closed before these renders ran. Nothing was paid for them; resume to render them now.
        </p>
      )}
      <ol className="queue-list" data-testid="queue-list">
        {list.map((r) => (
          <li key={r.jobId} className={`queue-row ${r.stage}`} data-testid="queue-row" data-stage={r.stage}>
            <span className="queue-pos">{r.position}</span>
            <div className="queue-what">
              <div className="queue-names" title={`${r.image}\n${r.video}`}>
                <strong>{fileNameOf(r.image)}</strong> <span className="muted">dancing</span> <strong>{fileNameOf(r.video)}</strong>
              </div>
              <div className="muted small" data-testid="queue-stage">
                {r.stage === "queued" ? "Waiting for a GPU" : STAGE_LABELS[r.stage]}
                {r.detail && ` · ${r.detail}`}
              </div>
              {isActive(r.stage) && (
                <div className="bar thin" aria-label="progress">
                  <div className="bar-fill" style={{ width: `${Math.round((r.fraction ?? 0) * 100)}%` }} />
                </div>
              )}
              {r.error && r.stage !== "cancelled" && (
                <p className="error-box small" role="alert" data-testid="queue-error">
                  {r.error.message}
                </p>
              )}
            </div>
            <span className="cost" data-testid="queue-row-cost">
              {r.costUsd != null && r.costUsd > 0 ? formatUsd(r.costUsd) : "—"}
            </span>
            <div className="queue-actions">
              {r.stage === "done" && r.outputs[0] && (
                <>
                  <button onClick={() => setPlaying(playing === r.jobId ? null : r.jobId)} data-testid="queue-play">
                    {playing === r.jobId ? "Hide" : "Play"}
                  </button>
                  <button className="link" onClick={() => onOpenGallery(r.jobId)} data-testid="queue-open-gallery">
                    Open in gallery
                  </button>
                </>
              )}
              {r.stage === "queued" && !r.jobId.startsWith("pending-") && (
                <button className="link" onClick={() => queue.cancel(r.jobId)} data-testid="queue-remove">
                  Remove
                </button>
              )}
              {isActive(r.stage) && r.stage !== "tearingDown" && (
                <button className="danger" onClick={() => queue.cancel(r.jobId)} data-testid="queue-cancel">
                  Cancel
                </button>
              )}
            </div>
            {playing === r.jobId && r.outputs[0] && (
              <div className="queue-player">
                <VideoPlayer path={r.outputs[0]} autoPlay testId="queue-video" />
              </div>
            )}
          </li>
        ))}
      </ol>
      {queue.error && (
        <p className="error-box" role="alert" data-testid="queue-error-box">
          {queue.error.message}
        </p>
      )}
      <div className="row actions">
        {canResume && (
          <button className="primary" onClick={queue.resume} data-testid="queue-resume">
            Resume {counts(list).queued} {counts(list).queued === 1 ? "render" : "renders"}
          </button>
        )}
        {open && (
          <button className="danger" onClick={queue.cancelAll} data-testid="queue-cancel-all">
            {canResume ? "Drop the rest" : "Cancel all"}
          </button>
        )}
        {children}
      </div>
    </section>
  );
}
