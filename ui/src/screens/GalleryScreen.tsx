import { useEffect, useState } from "react";
import { listen } from "@tauri-apps/api/event";
import { asStudioError, type StudioError } from "../api";
import { VideoPlayer } from "../components/VideoPlayer";
import { fileNameOf } from "../format";
import { formatUsd, jobs, STAGE_LABELS, type GalleryEntry, type JobSpec } from "../jobs";

interface Props {
  /// Open this render's entry once the gallery has loaded (from the queue panel).
  focusId?: string | null;
  onCreate: () => void;
  onRenderAgain: (spec: JobSpec) => void;
}

function stageMs(e: GalleryEntry) {
  return e.stages
    .filter((s) => s.endedMs != null)
    .map((s) => ({ stage: s.stage, ms: (s.endedMs ?? s.startedMs) - s.startedMs }));
}

export function GalleryScreen({ focusId = null, onCreate, onRenderAgain }: Props) {
  const [entries, setEntries] = useState<GalleryEntry[] | null>(null);
  const [error, setError] = useState<StudioError | null>(null);
  const [newestFirst, setNewestFirst] = useState(true);
  const [open, setOpen] = useState<GalleryEntry | null>(null);

  const load = () =>
    jobs.gallery().then(
      (list) => {
        setEntries(list);
        const focused = focusId ? list.find((e) => e.id === focusId) : undefined;
        if (focused) setOpen((o) => o ?? focused);
      },
      (e) => setError(asStudioError(e)),
    );
  useEffect(() => {
    load();
    // Renders resumed after a crash land in the gallery once start-up recovery is done.
    let unlisten: (() => void) | undefined;
    listen("startup-settled", () => load()).then((fn) => (unlisten = fn), () => undefined);
    return () => unlisten?.();
  }, []);

  if (error) return <section data-testid="screen-gallery" className="screen"><h1>Gallery</h1><p className="error-box">{error.message}</p></section>;
  if (entries === null) {
    return (
      <section data-testid="screen-gallery" className="screen">
        <h1>Gallery</h1>
        <p className="muted">Loading your videos…</p>
      </section>
    );
  }
  if (entries.length === 0) {
    return (
      <section data-testid="screen-gallery" className="screen">
        <h1>Gallery</h1>
        <div className="empty" data-testid="gallery-empty">
          <h2>No videos yet</h2>
          <p>
            Every video you render appears here with its thumbnail, the photo and dance it came from,
            the settings used, how long it took and what it cost. You can play it, open its folder, or
            render it again with the same settings.
          </p>
          <button className="primary" onClick={onCreate}>
            Create your first video
          </button>
        </div>
      </section>
    );
  }
  const sorted = [...entries].sort((a, b) => (newestFirst ? b.createdMs - a.createdMs : a.createdMs - b.createdMs));

  if (open) {
    const e = open;
    return (
      <section data-testid="screen-gallery" className="screen">
        <button className="link" onClick={() => setOpen(null)} data-testid="gallery-back">
          ← All videos
        </button>
        <h1>{new Date(e.createdMs).toLocaleString()}</h1>
        <div className="detail" data-testid="gallery-detail">
          {e.missing ? (
            <div className="thumb missing">The video file was moved or deleted: {e.video}</div>
          ) : (
            <VideoPlayer path={e.video} testId="gallery-video" />
          )}
          <dl className="facts">
            <dt>Photo</dt>
            <dd>{fileNameOf(e.spec.image)}</dd>
            <dt>Dance</dt>
            <dd>{fileNameOf(e.spec.video)}</dd>
            {Object.entries(e.spec.params).map(([k, v]) => (
              <FactRow key={k} label={k} value={String(v)} />
            ))}
            {e.spec.normalise.trimStart != null && <FactRow label="start" value={`${e.spec.normalise.trimStart} s`} />}
            {e.spec.normalise.trimEnd != null && <FactRow label="end" value={`${e.spec.normalise.trimEnd} s`} />}
            {e.spec.normalise.fit && <FactRow label="fit" value={e.spec.normalise.fit} />}
            <dt>Ran on</dt>
            <dd>{e.gpuId ?? (e.spec.target.kind === "comfyUrl" ? e.spec.target.url : "—")}</dd>
            <dt>Cost</dt>
            <dd data-testid="gallery-detail-cost">{formatUsd(e.costUsd)}</dd>
            {stageMs(e).map((s, i) => (
              <FactRow key={`${s.stage}-${i}`} label={STAGE_LABELS[s.stage]} value={`${(s.ms / 1000).toFixed(1)} s`} />
            ))}
          </dl>
        </div>
        <div className="row actions">
          <button className="primary" onClick={() => onRenderAgain(e.spec)} data-testid="gallery-render-again">
            Render again with these settings
          </button>
          {!e.missing && <button onClick={() => jobs.revealFile(e.video)}>Show in folder</button>}
          <button
            className="danger"
            onClick={async () => {
              await jobs.deleteEntry(e.id, false).catch((err) => setError(asStudioError(err)));
              setOpen(null);
              load();
            }}
          >
            Remove from gallery
          </button>
        </div>
      </section>
    );
  }

  return (
    <section data-testid="screen-gallery" className="screen">
      <div className="row spread">
        <h1>Gallery</h1>
        <select value={newestFirst ? "new" : "old"} onChange={(e) => setNewestFirst(e.target.value === "new")} aria-label="Sort">
          <option value="new">Newest first</option>
          <option value="old">Oldest first</option>
        </select>
      </div>
      <div className="gallery-grid">
        {sorted.map((e) => (
          <button key={e.id} className="gallery-item" onClick={() => setOpen(e)} data-testid="gallery-item">
            {e.thumbnailData ? <img src={e.thumbnailData} alt="" /> : <div className="thumb missing">{e.missing ? "File missing" : "No preview"}</div>}
            <span className="gallery-names" title={`${e.spec.image}\n${e.spec.video}`}>
              {fileNameOf(e.spec.image)} · {fileNameOf(e.spec.video)}
            </span>
            <span className="muted small">{new Date(e.createdMs).toLocaleString()}</span>
            <span className="muted" data-testid="gallery-cost">
              {formatUsd(e.costUsd)}
              {e.missing && " · missing"}
            </span>
          </button>
        ))}
      </div>
    </section>
  );
}

function FactRow({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}
