import { useEffect, useState } from "react";
import { formatBytes } from "../format";
import { badges, type FrameCheck, type PoseFrame } from "../pose";
import { downloadFraction, type PosePreviewApi } from "../usePosePreview";

type Mode = "side" | "overlay";

const PLAY_INTERVAL_MS = 250;

function frameProblems(c: FrameCheck): string[] {
  const out: string[] = [];
  if (c.no_person) out.push("Nobody found");
  if (c.multiple_people) out.push(`${c.people} people`);
  if (c.cut_off) out.push("Body cut off");
  if (c.low_confidence) out.push("Unsure pose");
  return out;
}

function ModelsPrompt({ api }: { api: PosePreviewApi }) {
  const { models, download } = api;
  const pct = Math.round(downloadFraction(models, download) * 100);
  return (
    <div className="pose-models" data-testid="pose-models">
      <p>
        See the dancer's skeleton before you pay for a GPU. The preview runs on this computer and needs the DWPose models
        {models ? ` (about ${formatBytes(models.expected_bytes)}, downloaded once)` : ""}.
      </p>
      {download.running ? (
        <div className="pose-download">
          <progress max={100} value={pct} data-testid="pose-download-progress" />
          <span>{pct} %</span>
          <button className="secondary" onClick={api.cancelDownload}>
            Stop download
          </button>
        </div>
      ) : (
        <button className="primary" onClick={api.downloadModels} data-testid="pose-download">
          {pct > 0 ? "Resume download" : "Download pose models"}
        </button>
      )}
      {download.error && (
        <div className="error-box" role="alert" data-testid="pose-download-error">
          {download.error.message}
        </div>
      )}
    </div>
  );
}

/// The models work on the built-in engine; ONNX Runtime (an optional download) is faster.
function EngineUpgrade({ api }: { api: PosePreviewApi }) {
  const { download, models } = api;
  const extra = models?.files.find((f) => f.optional && !f.ready);
  if (!extra) return null;
  const p = download.progress[extra.file];
  return (
    <div className="pose-upgrade small muted" data-testid="pose-engine-upgrade">
      {download.running ? (
        <span>
          Downloading ONNX Runtime: {p?.total ? Math.round((p.done / p.total) * 100) : 0} %
        </span>
      ) : (
        <>
          <span>
            A faster preview engine (ONNX Runtime{extra.expected ? `, ${formatBytes(extra.expected)}` : ""}) is available.
          </span>
          <button className="link" onClick={api.downloadModels} data-testid="pose-engine-download">
            Download it
          </button>
        </>
      )}
      {download.error && <span className="err"> {download.error.message}</span>}
    </div>
  );
}

function Stage({ frame, mode }: { frame: PoseFrame; mode: Mode }) {
  if (mode === "overlay") {
    return (
      <div className="pose-stage overlay" data-testid="pose-stage">
        <div className="pose-overlay">
          <img src={frame.picture} alt="Dance frame" />
          <img className="pose-skeleton-over" src={frame.skeleton} alt="Skeleton over the frame" data-testid="pose-skeleton" />
        </div>
      </div>
    );
  }
  return (
    <div className="pose-stage side" data-testid="pose-stage">
      <img src={frame.picture} alt="Dance frame" />
      <img src={frame.skeleton} alt="Skeleton" data-testid="pose-skeleton" />
    </div>
  );
}

export function PosePreview({ api }: { api: PosePreviewApi }) {
  const { preview } = api;
  const [mode, setMode] = useState<Mode>("side");
  const [pos, setPos] = useState(0);
  const [follow, setFollow] = useState(true);
  const [playing, setPlaying] = useState(false);
  const n = preview.frames.length;
  const last = Math.max(0, n - 1);

  useEffect(() => {
    setFollow(true);
    setPlaying(false);
    setPos(0);
  }, [preview.video]);
  useEffect(() => {
    if (follow && !playing) setPos(last);
  }, [follow, playing, last]);
  useEffect(() => {
    if (!playing) return;
    const t = setInterval(() => setPos((p) => (p >= last ? 0 : p + 1)), PLAY_INTERVAL_MS);
    return () => clearInterval(t);
  }, [playing, last]);

  if (!api.models) return null;
  const frame = preview.frames[Math.min(pos, last)];
  const running = preview.status === "loading" || preview.status === "running";
  const total = preview.total;

  return (
    <section
      className="pose-panel"
      data-testid="pose-preview"
      data-status={preview.status}
      data-video={preview.video ?? undefined}
      data-first-frame-ms={preview.firstFrameMs ?? undefined}
    >
      <div className="pose-head">
        <h2>Dance poses</h2>
        <span className="muted">Free, on this computer</span>
        {api.models.ready && n > 0 && (
          <div className="segmented" role="group" aria-label="Preview layout">
            <button aria-pressed={mode === "side"} onClick={() => setMode("side")} data-testid="pose-mode-side">
              Side by side
            </button>
            <button aria-pressed={mode === "overlay"} onClick={() => setMode("overlay")} data-testid="pose-mode-overlay">
              Overlay
            </button>
          </div>
        )}
      </div>
      {!api.models.ready ? (
        <ModelsPrompt api={api} />
      ) : (
        <>
          <div className="pose-status" data-testid="pose-status">
            {preview.status === "loading" && <span>Loading the pose models…</span>}
            {preview.status === "running" && (
              <>
                <progress max={total ?? undefined} value={total ? n : undefined} />
                <span>
                  Finding the dancer: {n}
                  {total ? ` of ${total}` : ""} frames
                </span>
              </>
            )}
            {preview.status === "done" && (
              <span>
                Preview ready: {n} frames checked{preview.engine === "onnxruntime" ? " with ONNX Runtime" : ""}.
              </span>
            )}
            {preview.status === "cancelled" && <span>Stopped after {n} frames.</span>}
            {running ? (
              <button className="secondary" onClick={api.stop} data-testid="pose-stop">
                Stop preview
              </button>
            ) : (
              preview.status !== "done" &&
              preview.status !== "idle" && (
                <button className="secondary" onClick={api.restart} data-testid="pose-restart">
                  Preview again
                </button>
              )
            )}
          </div>
          {api.models.engine_upgrade && (
            <EngineUpgrade api={api} />
          )}
          {preview.error && (
            <div className="error-box" role="alert" data-testid="pose-error">
              {preview.error.message}
            </div>
          )}
          {!frame && running && (
            // Holds the stage's place so the first skeleton does not push the Render button away
            // from under the pointer.
            <div className="pose-stage pose-placeholder" data-testid="pose-placeholder">
              The first skeleton appears here in a moment.
            </div>
          )}
          {frame && (
            <>
              <Stage frame={frame} mode={mode} />
              <div className="pose-scrub">
                <button className="secondary" onClick={() => setPlaying((p) => !p)} disabled={n < 2} data-testid="pose-play">
                  {playing ? "Pause" : "Play"}
                </button>
                <input
                  type="range"
                  min={0}
                  max={last}
                  value={Math.min(pos, last)}
                  aria-label="Preview frame"
                  data-testid="pose-scrubber"
                  onChange={(e) => {
                    const v = Number(e.target.value);
                    setPlaying(false);
                    setPos(v);
                    setFollow(v >= last);
                  }}
                />
                <span className="pose-time" data-testid="pose-time">
                  {frame.secs.toFixed(2)} s
                </span>
                {frameProblems(frame.check).map((p) => (
                  <span key={p} className="tag warning">
                    {p}
                  </span>
                ))}
              </div>
            </>
          )}
          <ul className="checks" data-testid="pose-checks">
            {badges(preview).map((b) => (
              <li key={b.code} className={`badge ${b.severity}`} data-testid="pose-check" data-code={b.code}>
                {b.text}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
