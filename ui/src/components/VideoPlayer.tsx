import { useEffect, useState } from "react";
import { convertFileSrc } from "@tauri-apps/api/core";
import { asStudioError } from "../api";
import { jobs } from "../jobs";

interface Props {
  path: string;
  testId: string;
  /// The fresh result plays by itself, looped; the gallery waits for a click.
  autoPlay?: boolean;
}

/// A finished video. Its URL comes from the Rust side: Linux's webview cannot play video from the
/// `asset:` scheme, so there the file is served over loopback HTTP.
export function VideoPlayer({ path, testId, autoPlay = false }: Props) {
  const [src, setSrc] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setSrc(null);
    setProblem(null);
    jobs.videoUrl(path).then(
      (url) => live && setSrc(url ?? convertFileSrc(path)),
      (e) => {
        if (!live) return;
        setProblem(asStudioError(e).message);
        setSrc(convertFileSrc(path));
      },
    );
    return () => {
      live = false;
    };
  }, [path]);

  return (
    <>
      {src ? (
        <video
          className="result-video"
          src={src}
          controls
          autoPlay={autoPlay}
          loop={autoPlay}
          data-testid={testId}
          onError={() =>
            setProblem("The window cannot play this video. It is saved: use Show in folder to open it in your video player.")
          }
        />
      ) : (
        <div className="result-video" aria-busy="true" />
      )}
      {problem && (
        <p className="error-box" role="alert" data-testid={`${testId}-problem`}>
          {problem}
        </p>
      )}
    </>
  );
}
