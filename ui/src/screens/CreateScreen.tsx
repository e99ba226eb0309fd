import { useCallback, useEffect, useRef, useState } from "react";
import { api, asStudioError, type Check } from "../api";
import { batches, batchSummary, type BatchPlan } from "../batch";
import { DropZone } from "../components/DropZone";
import { MediaList } from "../components/MediaList";
import { PosePreview } from "../components/PosePreview";
import { QueuePanel } from "../components/QueuePanel";
import { RenderProgress } from "../components/RenderProgress";
import { RenderResult } from "../components/RenderResult";
import { RenderSetup } from "../components/RenderSetup";
import { fileNameOf } from "../format";
import { emptyInputs, merge, probeAll, without, type Inputs } from "../inputs";
import type { BatchEvent, JobEvent, JobSpec, RenderOptions } from "../jobs";
import { notifyIfHidden } from "../notify";
import { initialRender, reduce, type RenderState } from "../renderState";
import { resumable, unfinished } from "../queueState";
import { usePosePreview } from "../usePosePreview";
import { useRenderQueue } from "../useRenderQueue";
import { badges } from "../pose";

interface Props {
  onOpenSettings: () => void;
  /// A gallery entry's spec to render again with the same settings.
  again: JobSpec | null;
  onAgainUsed: () => void;
  onOpenGallery: (jobId: string) => void;
}

/// One photo and one dance run as today (progress, then the result); more run as a batch, shown
/// in the queue panel.
type Phase = { kind: "setup" } | { kind: "running"; cancelling: boolean } | { kind: "result" } | { kind: "batch" };

/// Pairs checked together (photo shape against dance shape); beyond this, checked at plan time.
const PAIRS_CHECKED = 24;
type PairCheck = Check & { photo: string; video: string };

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

function announceBatch(e: Extract<BatchEvent, { event: "batchFinished" }>) {
  const n = e.done + e.failed + e.cancelled;
  notifyIfHidden(
    e.done === n ? "Your videos are ready" : "Renders finished",
    `${e.done} of ${n} videos are ready${e.failed ? `; ${e.failed} failed` : ""}${e.cancelled ? `; ${e.cancelled} cancelled` : ""}.`,
  );
}

export function CreateScreen({ onOpenSettings, again, onAgainUsed, onOpenGallery }: Props) {
  const [inputs, setInputs] = useState<Inputs>(emptyInputs);
  const [selectedVideo, setSelectedVideo] = useState<string | null>(null);
  const queue = useRenderQueue();
  const [queueHidden, setQueueHidden] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: "setup" });
  const [render, setRender] = useState<RenderState>(() => initialRender(Date.now()));
  const [setupInitial, setSetupInitial] = useState<SetupInitial>(() => initialOf(again));
  const [demoRun, setDemoRun] = useState(false);
  const renderRef = useRef(render);
  renderRef.current = render;

  const onFiles = useCallback(async (paths: string[], replace = false) => {
    setBusy(true);
    try {
      const results = await probeAll(paths);
      setInputs((current) => merge(replace ? emptyInputs : current, results));
      // The dance just added is the one the pose preview shows.
      const added = results.filter((r) => "probed" in r && r.probed.facts.kind === "video");
      if (added.length > 0) setSelectedVideo(added[added.length - 1].path);
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    if (!again) return;
    setSetupInitial(initialOf(again));
    setPhase({ kind: "setup" });
    onFiles([again.image, again.video], true);
    onAgainUsed();
  }, [again, onAgainUsed, onFiles]);

  const [pairChecks, setPairChecks] = useState<PairCheck[]>([]);
  const photoPaths = inputs.photos.map((p) => p.facts.path);
  const videoPaths = inputs.videos.map((v) => v.facts.path);
  const pairsKey = JSON.stringify([photoPaths, videoPaths]);
  const previewed = selectedVideo && videoPaths.includes(selectedVideo) ? selectedVideo : (videoPaths[videoPaths.length - 1] ?? null);
  const posePreview = usePosePreview(previewed);
  useEffect(() => {
    setPairChecks([]);
    const [photos, videos] = JSON.parse(pairsKey) as [string[], string[]];
    const pairs = photos.flatMap((photo) => videos.map((video) => ({ photo, video }))).slice(0, PAIRS_CHECKED);
    if (pairs.length === 0) return;
    let live = true;
    Promise.all(
      pairs.map(({ photo, video }) =>
        api.checkPair(photo, video).then(
          (checks) => checks.map((c) => ({ ...c, photo, video })),
          () => [],
        ),
      ),
    ).then((all) => live && setPairChecks(all.flat()));
    return () => {
      live = false;
    };
  }, [pairsKey]);

  async function start(plan: BatchPlan) {
    // The preview competes for the CPU with preparing the upload while the pod bills.
    posePreview.stop();
    setSetupInitial(initialOf(plan.renders[0]?.spec ?? null));
    setDemoRun(plan.demo);
    if (plan.renders.length > 1) {
      setPhase({ kind: "batch" });
      await queue.start(plan, announceBatch);
      return;
    }
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
      await batches.start(plan.planId, onEvent);
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
    if (renderRef.current.jobId) await batches.cancelRender(renderRef.current.jobId).catch(() => undefined);
  }

  const ready = inputs.photos.length > 0 && inputs.videos.length > 0;
  const single = inputs.photos.length === 1 && inputs.videos.length === 1;
  const blocking = [...inputs.photos, ...inputs.videos].flatMap((f) => f.facts.checks).concat(pairChecks).filter((c) => c.severity === "error");
  const remove = (path: string) => setInputs((s) => without(s, path));
  const queueShown =
    queue.state.batchId != null &&
    queue.state.batchId !== queueHidden &&
    (queue.state.items.length > 1 || resumable(queue.state) || unfinished(queue.state));

  if (phase.kind === "batch") {
    return (
      <section data-testid="screen-create" className="screen">
        <h1>{unfinished(queue.state) ? "Rendering" : "Create"}</h1>
        <QueuePanel queue={queue} onOpenGallery={onOpenGallery}>
          {!unfinished(queue.state) && (
            <button className="primary" onClick={() => setPhase({ kind: "setup" })} data-testid="queue-new">
              Set up new renders
            </button>
          )}
        </QueuePanel>
      </section>
    );
  }

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
      {queueShown && (
        <QueuePanel
          queue={{
            ...queue,
            resume: () => {
              setPhase({ kind: "batch" });
              return queue.resume();
            },
          }}
          onOpenGallery={onOpenGallery}
        >
          {unfinished(queue.state) && !resumable(queue.state) ? (
            <button onClick={() => setPhase({ kind: "batch" })} data-testid="queue-follow">
              Follow the renders
            </button>
          ) : (
            <button className="link" onClick={() => setQueueHidden(queue.state.batchId)} data-testid="queue-hide">
              Hide
            </button>
          )}
        </QueuePanel>
      )}
      <p className="lead">
        Pick a photo of a person and a video of a dance. The app checks them here on your computer,
        for free, before any GPU is rented. Several photos or dances make a batch: every photo
        dances every dance.
      </p>
      <DropZone busy={busy} onFiles={onFiles} onIntent={posePreview.warmUp} />
      {inputs.errors.map((e) => (
        <div key={e.file} className="error-box" role="alert" data-testid="file-error">
          <strong>{e.file}:</strong> {e.error.message}
        </div>
      ))}
      <div className="cards">
        <MediaList role="photo" files={inputs.photos} onRemove={remove} />
        <MediaList role="video" files={inputs.videos} onRemove={remove} selected={previewed} onSelect={setSelectedVideo} />
      </div>
      {ready && !single && (
        <p className="batch-count" data-testid="batch-count">
          {batchSummary(inputs.photos.length, inputs.videos.length)}
          <span className="muted"> · the settings below apply to every render</span>
        </p>
      )}
      {pairChecks.length > 0 && (
        <ul className="checks" data-testid="pair-checks">
          {pairChecks.map((c) => (
            <li key={`${c.code}|${c.photo}|${c.video}`} className={`badge ${c.severity}`}>
              {!single && `${fileNameOf(c.photo)} with ${fileNameOf(c.video)}: `}
              {c.message}
            </li>
          ))}
        </ul>
      )}
      {previewed && <PosePreview api={posePreview} />}
      {ready && blocking.length === 0 ? (
        <RenderSetup
          photos={inputs.photos}
          videos={inputs.videos}
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
              ? "Fix the problems marked in red above (or remove that file), then the render settings appear here."
              : inputs.photos.length > 0
                ? "Now add the dance video (or several)."
                : inputs.videos.length > 0
                  ? "Now add the reference photo (or several)."
                  : "Start by adding a photo and a dance video."}
          </p>
        </div>
      )}
    </section>
  );
}
