import type { Check, ProbedFile } from "../api";
import { formatBytes, formatDuration, formatFps, orientation } from "../format";

interface Props {
  role: "photo" | "video";
  file: ProbedFile | null;
  onRemove: () => void;
}

export function MediaCard({ role, file, onRemove }: Props) {
  const title = role === "photo" ? "Reference photo" : "Dance video";
  if (!file) {
    return (
      <div className="card placeholder" data-testid={`${role}-card-empty`}>
        <h3>{title}</h3>
        <p className="muted">
          {role === "photo"
            ? "The person who will dance. A clear, full-body photo works best."
            : "The dance to copy: one dancer, whole body in view, 2 to 20 seconds."}
        </p>
      </div>
    );
  }
  const f = file.facts;
  return (
    <div className="card" data-testid={`${role}-card`}>
      <div className="card-head">
        <h3>{title}</h3>
        <button className="link" onClick={onRemove}>
          Remove
        </button>
      </div>
      {file.thumbnail ? (
        <img className="thumb" src={file.thumbnail} alt={`First frame of ${f.fileName}`} />
      ) : (
        <div className="thumb missing">No preview</div>
      )}
      <div className="file-name" title={f.path}>
        {f.fileName}
      </div>
      <dl className="facts" data-testid={`${role}-facts`}>
        <dt>Size</dt>
        <dd data-testid={`${role}-dimensions`}>
          {f.width} × {f.height} ({orientation(f.width, f.height)})
        </dd>
        {f.durationSecs != null && (
          <>
            <dt>Length</dt>
            <dd data-testid={`${role}-duration`}>{formatDuration(f.durationSecs)}</dd>
          </>
        )}
        {f.frameRate != null && (
          <>
            <dt>Frame rate</dt>
            <dd data-testid={`${role}-fps`}>{formatFps(f.frameRate)}</dd>
          </>
        )}
        <dt>Format</dt>
        <dd data-testid={`${role}-codec`}>
          {f.container}, {f.codec}
        </dd>
        <dt>File</dt>
        <dd>{formatBytes(f.fileSize)}</dd>
      </dl>
      <CheckList checks={f.checks} />
    </div>
  );
}

/** A file's check results as badges; nothing when it passed every check. */
export function CheckList({ checks }: { checks: Check[] }) {
  if (checks.length === 0) return null;
  return (
    <ul className="checks">
      {checks.map((c) => (
        <li key={c.code} className={`badge ${c.severity}`} data-testid="check">
          {c.message}
        </li>
      ))}
    </ul>
  );
}
