import { useEffect, useRef, useState } from "react";
import { asStudioError, type ProbedFile, type StudioError } from "../api";
import { batches, batchSummary, type BatchPlan } from "../batch";
import { formatUsd, type RenderOptions } from "../jobs";
import { formatDuration } from "../format";
import { BatchConfirm, PoseWarnings } from "./BatchConfirm";
import { PodStartNote } from "./PodStartNote";

interface Props {
  /// Every photo renders with every video; one of each is a single render.
  photos: ProbedFile[];
  videos: ProbedFile[];
  /// Set when the user chose "render again": the spec's options and params come back. Applied
  /// on mount and again whenever a new object arrives (the panel may already be on screen).
  initial?: { options: RenderOptions; params: Record<string, unknown> } | null;
  onStart: (plan: BatchPlan) => void;
  onOpenSettings: () => void;
  /// What the local pose preview found wrong, repeated where the user decides to pay.
  poseWarnings?: string[];
}

const PRESETS: { id: string; label: string; steps: number; hint: string }[] = [
  { id: "fast", label: "Fast (4 steps)", steps: 4, hint: "The distilled 4-step mode: quick and cheap, usually all you need." },
  { id: "fine", label: "Finer (8 steps)", steps: 8, hint: "Twice the sampling for a little more detail; costs about twice the GPU time." },
];

export function RenderSetup({ photos, videos, initial, onStart, onOpenSettings, poseWarnings = [] }: Props) {
  // Trim applies to every dance: bounded by the longest.
  const duration = Math.max(0, ...videos.map((v) => v.facts.durationSecs ?? 0));
  const images = photos.map((p) => p.facts.path);
  const dances = videos.map((v) => v.facts.path);
  const key = JSON.stringify([images, dances]);
  const single = photos.length === 1 && videos.length === 1;
  const [options, setOptions] = useState<RenderOptions>(initial?.options ?? { fit: "crop" });
  const [seed, setSeed] = useState<number>(Number(initial?.params.seed ?? 42));
  const [steps, setSteps] = useState<number>(Number(initial?.params.steps ?? 4));
  const applied = useRef(initial);
  useEffect(() => {
    if (!initial || initial === applied.current) return;
    applied.current = initial;
    setOptions(initial.options);
    setSeed(Number(initial.params.seed ?? 42));
    setSteps(Number(initial.params.steps ?? 4));
  }, [initial]);
  const [plan, setPlan] = useState<BatchPlan | null>(null);
  const [error, setError] = useState<StudioError | null>(null);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    let live = true;
    setPlan(null);
    setError(null);
    const timer = setTimeout(() => {
      batches
        .plan({ images, videos: dances, options, params: { seed, steps } })
        .then((p) => live && setPlan(p), (e) => live && setError(asStudioError(e)));
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, options, seed, steps]);

  const set = (patch: Partial<RenderOptions>) => setOptions((o) => ({ ...o, ...patch }));
  const needsKey = error?.code === "secrets.no_key";

  return (
    <section className="panel render-setup" data-testid="render-setup">
      <h2>Render settings</h2>
      <div className="grid2">
        <label className="field">
          <span>Shape</span>
          <select
            value={options.orientation ?? ""}
            onChange={(e) => set({ orientation: (e.target.value || null) as RenderOptions["orientation"] })}
            data-testid="opt-orientation"
          >
            <option value="">Like the photo</option>
            <option value="portrait">Portrait (upright)</option>
            <option value="landscape">Landscape (wide)</option>
          </select>
        </label>
        <label className="field">
          <span>When the video has another shape</span>
          <select value={options.fit ?? "crop"} onChange={(e) => set({ fit: e.target.value as "crop" | "pad" })} data-testid="opt-fit">
            <option value="crop">Crop: fill the frame, cut the edges</option>
            <option value="pad">Pad: keep everything, add bars</option>
          </select>
        </label>
        <label className="field">
          <span>Start at (seconds)</span>
          <input
            type="number"
            min={0}
            max={duration}
            step={0.1}
            value={options.trimStart ?? 0}
            onChange={(e) => set({ trimStart: Number(e.target.value) || null })}
            data-testid="opt-trim-start"
          />
        </label>
        <label className="field">
          <span>End at (seconds)</span>
          <input
            type="number"
            min={0}
            max={duration}
            step={0.1}
            value={options.trimEnd ?? Number(duration.toFixed(1))}
            onChange={(e) => set({ trimEnd: Number(e.target.value) || null })}
            data-testid="opt-trim-end"
          />
        </label>
        <label className="field">
          <span>Quality</span>
          <select value={steps} onChange={(e) => setSteps(Number(e.target.value))} data-testid="opt-quality">
            {PRESETS.map((p) => (
              <option key={p.id} value={p.steps} title={p.hint}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Seed</span>
          <div className="row">
            <input type="number" value={seed} onChange={(e) => setSeed(Number(e.target.value))} data-testid="opt-seed" />
            <button type="button" onClick={() => setSeed(Math.floor(Math.random() * 1_000_000))}>
              New
            </button>
          </div>
        </label>
      </div>
      {plan && single && <SingleEstimate plan={plan} />}
      {plan && !single && (
        <p className="estimate" data-testid="estimate">
          {plan.demo && <span className="demo-tag">Demo: nothing is billed. </span>}
          <span data-testid="estimate-count">{batchSummary(photos.length, videos.length)}</span> on {plan.targetLabel}: about{" "}
          {formatDuration(plan.estimate.wallSecs)} to the last video, estimated{" "}
          <strong>{formatUsd(plan.estimate.totalUsd)}</strong> in all.
        </p>
      )}
      {error && (
        <div className="error-box" role="alert" data-testid="plan-error">
          {error.message}
          {needsKey && (
            <div>
              <button onClick={onOpenSettings}>Open Settings</button>
            </div>
          )}
        </div>
      )}
      {!confirming ? (
        <button className="primary big" disabled={!plan} onClick={() => setConfirming(true)} data-testid="render-button">
          {!plan
            ? "Render"
            : single
              ? `Render — about ${formatUsd(plan.estimate.totalUsd)}`
              : `Render ${plan.renders.length} videos — about ${formatUsd(plan.estimate.totalUsd)}`}
        </button>
      ) : (
        plan &&
        (single ? (
          <div className="confirm" data-testid="render-confirm">
            <p>
              {plan.renders[0].spec.target.kind === "comfyUrl"
                ? "The render runs on your own ComfyUI server."
                : `A GPU is rented by the second until the video is downloaded, then shut down. Estimated ${formatUsd(plan.estimate.totalUsd)}${plan.budgetUsd ? `; it stops at ${formatUsd(plan.budgetUsd)} whatever happens` : ""}.`}
            </p>
            <PodStartNote start={plan.estimate.podStart} />
            <PoseWarnings warnings={poseWarnings} lead="The pose preview found problems that will show in the video:" />
            <button className="primary" onClick={() => onStart(plan)} data-testid="render-confirm-yes">
              Start render
            </button>
            <button onClick={() => setConfirming(false)} data-testid="render-confirm-no">
              Not now
            </button>
          </div>
        ) : (
          <BatchConfirm plan={plan} poseWarnings={poseWarnings} onStart={() => onStart(plan)} onBack={() => setConfirming(false)} />
        ))
      )}
    </section>
  );
}

/// One photo, one dance: the estimate as it always read. The engine prices each render warm and
/// the pod's start apart (a batch shares it), so the start is named on its own.
function SingleEstimate({ plan }: { plan: BatchPlan }) {
  const e = plan.estimate.renders[0];
  if (!e) return null;
  return (
    <p className="estimate" data-testid="estimate">
      {plan.demo && <span className="demo-tag">Demo: nothing is billed. </span>}
      Runs on {plan.targetLabel}. About {formatDuration(plan.estimate.wallSecs)} for {e.frames} frames
      {e.rateUsdPerHour > 0 && <> at {formatUsd(e.rateUsdPerHour)}/hour</>}: estimated <strong>{formatUsd(plan.estimate.totalUsd)}</strong>.
      {plan.estimate.coldStartUsd > 0 && (
        <span data-testid="estimate-cold-start">
          {" "}
          That includes starting the GPU, with its software and models ({formatUsd(plan.estimate.coldStartUsd)}).
        </span>
      )}
    </p>
  );
}
