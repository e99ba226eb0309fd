import type { ProbedFile } from "../api";
import { formatDuration, orientation } from "../format";
import { CheckList, MediaCard } from "./MediaCard";

interface Props {
  role: "photo" | "video";
  files: ProbedFile[];
  onRemove: (path: string) => void;
  /// Videos: the one the pose preview shows, and how to pick another.
  selected?: string | null;
  onSelect?: (path: string) => void;
}

/// One file shows as its full card (today's single render); several as a list, one line each.
export function MediaList({ role, files, onRemove, selected, onSelect }: Props) {
  if (files.length <= 1) {
    const file = files[0] ?? null;
    return <MediaCard role={role} file={file} onRemove={() => file && onRemove(file.facts.path)} />;
  }
  const title = role === "photo" ? `${files.length} reference photos` : `${files.length} dance videos`;
  return (
    <div className="card" data-testid={`${role}-list`}>
      <div className="card-head">
        <h3>{title}</h3>
      </div>
      <ul className="media-list">
        {files.map((file) => {
          const f = file.facts;
          const problems = f.checks.filter((c) => c.severity === "error");
          const isSelected = role === "video" && selected === f.path;
          return (
            <li key={f.path} className={`media-row${isSelected ? " selected" : ""}`} data-testid={`${role}-item`}>
              {file.thumbnail ? <img className="mini-thumb" src={file.thumbnail} alt="" /> : <div className="mini-thumb missing" />}
              <div className="media-row-text">
                <div className="file-name" title={f.path}>
                  {f.fileName}
                </div>
                <div className="muted small">
                  {f.width} × {f.height} ({orientation(f.width, f.height)})
                  {f.durationSecs != null && ` · ${formatDuration(f.durationSecs)}`}
                </div>
                <CheckList checks={f.checks} />
              </div>
              <div className="media-row-actions">
                {role === "video" && onSelect && problems.length === 0 && (
                  <button className="link" disabled={isSelected} onClick={() => onSelect(f.path)} data-testid="video-select">
                    {isSelected ? "In the pose preview" : "Preview pose"}
                  </button>
                )}
                <button className="link" onClick={() => onRemove(f.path)} data-testid={`${role}-remove`} aria-label={`Remove ${f.fileName}`}>
                  Remove
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
