import { formatUsd, jobs, STAGE_LABELS } from "../jobs";
import type { RenderState } from "../renderState";
import { VideoPlayer } from "./VideoPlayer";

interface Props {
  state: RenderState;
  onRenderAgain: () => void;
  onNew: () => void;
  demo?: boolean;
}

export function RenderResult({ state, onRenderAgain, onNew, demo = false }: Props) {
  const video = state.outputs[0];
  const ok = state.stage === "done" && video;
  return (
    <section className="panel" data-testid="render-result">
      {ok ? (
        <>
          <h2>Your video is ready</h2>
          <VideoPlayer path={video} autoPlay testId="result-video" />
          <p className="muted" data-testid="result-cost">
            {demo ? `Demo: nothing was billed (on RunPod this would have cost ${formatUsd(state.costUsd)}).` : `Cost ${formatUsd(state.costUsd)}.`} Saved
            as <code>{video}</code>
          </p>
        </>
      ) : (
        <>
          <h2 data-testid="result-title">{state.stage === "cancelled" ? "Render cancelled" : `Render ${STAGE_LABELS[state.stage].toLowerCase()}`}</h2>
          {state.error && (
            <p className="error-box" role="alert" data-testid="result-error">
              {state.error.message}
            </p>
          )}
          <p className="muted" data-testid="result-cost">
            {state.costUsd > 0 ? `GPU time already used: ${formatUsd(state.costUsd)}. ` : ""}No GPU is left running.
          </p>
        </>
      )}
      <div className="row actions">
        {ok && (
          <button onClick={() => jobs.revealFile(video)} data-testid="show-in-folder">
            Show in folder
          </button>
        )}
        <button className={ok ? "" : "primary"} onClick={onRenderAgain} data-testid="render-again">
          Render again
        </button>
        <button onClick={onNew}>New video</button>
      </div>
    </section>
  );
}
