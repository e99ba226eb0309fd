import { useEffect, useState } from "react";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { api } from "../api";

interface Props {
  busy: boolean;
  onFiles: (paths: string[]) => void;
  /// Files are on their way (dragged over the window, or the file dialog opened).
  onIntent?: () => void;
}

export function DropZone({ busy, onFiles, onIntent }: Props) {
  const [over, setOver] = useState(false);

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let cancelled = false;
    getCurrentWebview()
      .onDragDropEvent((event) => {
        const p = event.payload;
        if (p.type === "enter") onIntent?.();
        if (p.type === "enter" || p.type === "over") setOver(true);
        else if (p.type === "leave") setOver(false);
        else if (p.type === "drop") {
          setOver(false);
          if (p.paths.length > 0) onFiles(p.paths);
        }
      })
      .then((fn) => {
        if (cancelled) fn();
        else {
          unlisten = fn;
          // Lets automated tests know a drop will be heard.
          document.body.dataset.dropReady = "1";
        }
      })
      .catch(() => {
        // Outside the desktop window (tests, a plain browser) there is no native drop.
      });
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, [onFiles, onIntent]);

  async function pick() {
    onIntent?.();
    // The Rust side opens the dialog: it opens only files the user chose there or dropped.
    const chosen = await api.pickMediaFiles().catch(() => []);
    if (chosen.length > 0) onFiles(chosen);
  }

  return (
    <div className={`dropzone${over ? " over" : ""}`} data-testid="dropzone">
      <p className="drop-title">Drop your photo and dance video here</p>
      <p className="muted">
        Both at once or one after the other; add more of either for a batch. JPEG or PNG photos; MP4, MOV or WebM videos.
      </p>
      <button className="primary" onClick={pick} disabled={busy} data-testid="pick-files">
        {busy ? "Checking…" : "Choose files…"}
      </button>
    </div>
  );
}
