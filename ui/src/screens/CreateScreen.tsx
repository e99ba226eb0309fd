import { useCallback, useEffect, useRef, useState } from "react";
import { api, asStudioError, type Check } from "../api";
import { DropZone } from "../components/DropZone";
import { MediaCard } from "../components/MediaCard";
import { PosePreview } from "../components/PosePreview";
import { RenderProgress } from "../components/RenderProgress";
import { RenderResult } from "../components/RenderResult";
import { RenderSetup } from "../components/RenderSetup";
import { emptyInputs, merge, probeAll, type Inputs } from "../inputs";
import { jobs, type JobEvent, type JobSpec, type RenderOptions, type RenderPlan } from "../jobs";
import { notifyIfHidden } from "../notify";
import { initialRender, reduce, type RenderState } from "../renderState";
import { usePosePreview } from "../usePosePreview";
import { badges } from "../pose";

interface Props {
  onOpenSettings: () => void;
  /// A gallery entry's spec to render again with the same settings.
  again: JobSpec | null;
  onAgainUsed: () => void;
}

type Phase = { kind: "setup" } | { kind: "running"; cancelling: boolean } | { kind: "result" };

/// What the settings panel starts from. A new object each time it must be applied again, even
/// with the same values: the panel may already be on screen with the user's own edits.
type SetupInitial = { options: RenderOptions; params: Record<string, unknown> } | null;
const initialOf = (spec: JobSpec | null): SetupInitial => (spec ? { options: spec.normalise, params: spec.params } : null);

function announce(e: Extract<JobEvent, { event: "finished" }>) {
  notifyIfHidden(
    e.stage === "done" ? "Your video is ready" : "Render stopped",
    e.stage === "done" ? "SteadyDancer Studio finished your render." : (e.error?.message ?? "The render did not finish."),
  );
}

export function CreateScreen({ onOpenSettings, again, onAgainUsed }: Props) {
  const [inputs, setInputs] = useState<Inputs>(emptyInputs);
  const [busy, setBusy] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: "setup" });
  const [render, setRender] = useState<RenderState>(() => initialRender(Date.now()));
  const [setupInitial, setSetupInitial] = useState<SetupInitial>(() => initialOf(again));
  const [demoRun, setDemoRun] = useState(false);
  const renderRef = useRef(render);
  renderRef.current = render;

  const onFiles = useCallback(async (paths: string[]) => {
    setBusy(true);
    try {
      const results = await probeAll(paths);
      setInputs((current) => merge(current, results));
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    if (!again) return;
    setSetupInitial(initialOf(again));
    setPhase({ kind: "setup" });
    onFiles([again.image, again.video]);
    onAgainUsed();
  }, [again, onAgainUsed, onFiles]);

  const [pairChecks, setPairChecks] = useState<Check[]>([]);
  const photoPath = inputs.photo?.facts.path;
  const videoPath = inputs.video?.facts.path;
  const posePreview = usePosePreview(videoPath ?? null);
  useEffect(() => {
    setPairChecks([]);
    if (!photoPath || !videoPath) return;
    let live = true;
    api.checkPair(photoPath, videoPath).then(
      (checks) => live && setPairChecks(checks),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [photoPath, videoPath]);

  async function start(plan: RenderPlan) {
    // The preview competes for the CPU with preparing the upload while the pod bills.
    posePreview.stop();
    setSetupInitial(initialOf(plan.spec));
    setDemoRun(plan.demo);
    setRender(initialRender(Date.now()));
    setPhase({ kind: "running", cancelling: false });
    // The call's answer and the channel's last message travel apart (either may come first), and
    // state read after the await may not hold that message yet: only the event itself is sure.
    let announced = false;
    const onEvent = (e: JobEvent) => {
      setRender((s) => reduce(s, e));
      if (e.event === "finished" && !announced) {
        announced = true;
        announce(e);
      }
    };
    try {
      await jobs.start(plan.planId, onEvent);
    } catch (e) {
      const err = asStudioError(e);
      setRender((s) => ({ ...s, finished: true, stage: s.stage === "done" ? "done" : "failed", error: s.error ?? err }));
      if (!announced) {
        announced = true;
        announce({ event: "finished", jobId: renderRef.current.jobId ?? "", stage: "failed", outputs: [], costUsd: 0, error: err });
      }
    }
    setPhase({ kind: "result" });
  }

  async function cancel() {
    setPhase({ kind: "running", cancelling: true });
    if (renderRef.current.jobId) await jobs.cancel(renderRef.current.jobId).catch(() => undefined);
  }

  const ready = inputs.photo && inputs.video;
  const blocking = [...(inputs.photo?.facts.checks ?? []), ...(inputs.video?.facts.checks ?? []), ...pairChecks].filter((c) => c.severity === "error");

  if (phase.kind === "running") {
    return (
      <section data-testid="screen-create" className="screen">
        <h1>Rendering</h1>
        <RenderProgress state={render} onCancel={cancel} cancelling={phase.cancelling} demo={demoRun} />
      </section>
    );
  }
  if (phase.kind === "result") {
    return (
      <section data-testid="screen-create" className="screen">
        <h1>Create</h1>
        <RenderResult
          state={render}
          demo={demoRun}
          onRenderAgain={() => setPhase({ kind: "setup" })}
          onNew={() => {
            setInputs(emptyInputs);
            setSetupInitial(null);
            setPhase({ kind: "setup" });
          }}
        />
      </section>
    );
  }
  return (
    <section data-testid="screen-create" className="screen">
      <h1>Create</h1>
      <p className="lead">
        Pick a photo of a person and a video of a dance. The app checks both here on your computer,
        for free, before any GPU is rented.
      </p>
      <DropZone busy={busy} onFiles={onFiles} onIntent={posePreview.warmUp} />
      {inputs.errors.map((e) => (
        <div key={e.file} className="error-box" role="alert" data-testid="file-error">
          <strong>{e.file}:</strong> {e.error.message}
        </div>
      ))}
      <div className="cards">
        <MediaCard role="photo" file={inputs.photo} onRemove={() => setInputs((s) => ({ ...s, photo: null }))} />
        <MediaCard role="video" file={inputs.video} onRemove={() => setInputs((s) => ({ ...s, video: null }))} />
      </div>
      {pairChecks.length > 0 && (
        <ul className="checks" data-testid="pair-checks">
          {pairChecks.map((c) => (
            <li key={c.code} className={`badge ${c.severity}`}>
              {c.message}
            </li>
          ))}
        </ul>
      )}
      {inputs.video && <PosePreview api={posePreview} />}
      {ready && blocking.length === 0 ? (
        <RenderSetup
          photo={inputs.photo!}
          video={inputs.video!}
          initial={setupInitial}
          onStart={start}
          onOpenSettings={onOpenSettings}
          poseWarnings={badges(posePreview.preview)
            .filter((b) => b.severity === "warning")
            .map((b) => b.text)}
        />
      ) : (
        <div className="next-step" data-testid="next-step">
          <p className="muted">
            {ready
              ? "Fix the problems marked in red above, then the render settings appear here."
              : inputs.photo
                ? "Now add the dance video."
                : inputs.video
                  ? "Now add the reference photo."
                  : "Start by adding both files."}
          </p>
        </div>
      )}
    </section>
  );
}
