import { useCallback, useEffect, useState } from "react";
import { api, type Check } from "../api";
import { DropZone } from "../components/DropZone";
import { MediaCard } from "../components/MediaCard";
import { emptyInputs, merge, probeAll, type Inputs } from "../inputs";

export function CreateScreen({ onOpenSettings }: { onOpenSettings: () => void }) {
  const [inputs, setInputs] = useState<Inputs>(emptyInputs);
  const [busy, setBusy] = useState(false);

  const onFiles = useCallback(async (paths: string[]) => {
    setBusy(true);
    try {
      const results = await probeAll(paths);
      setInputs((current) => merge(current, results));
    } finally {
      setBusy(false);
    }
  }, []);

  const [pairChecks, setPairChecks] = useState<Check[]>([]);
  const photoPath = inputs.photo?.facts.path;
  const videoPath = inputs.video?.facts.path;
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

  const ready = inputs.photo && inputs.video;
  return (
    <section data-testid="screen-create" className="screen">
      <h1>Create</h1>
      <p className="lead">
        Pick a photo of a person and a video of a dance. The app checks both here on your computer,
        for free, before any GPU is rented.
      </p>
      <DropZone busy={busy} onFiles={onFiles} />
      {inputs.errors.map((e) => (
        <div key={e.file} className="error-box" role="alert" data-testid="file-error">
          <strong>{e.file}:</strong> {e.error.message}
        </div>
      ))}
      <div className="cards">
        <MediaCard
          role="photo"
          file={inputs.photo}
          onRemove={() => setInputs((s) => ({ ...s, photo: null }))}
        />
        <MediaCard
          role="video"
          file={inputs.video}
          onRemove={() => setInputs((s) => ({ ...s, video: null }))}
        />
      </div>
      <div className="next-step" data-testid="next-step">
        {ready ? (
          <>
            {pairChecks.length > 0 && (
              <ul className="checks" data-testid="pair-checks">
                {pairChecks.map((c) => (
                  <li key={c.code} className={`badge ${c.severity}`}>
                    {c.message}
                  </li>
                ))}
              </ul>
            )}
            <p>
              Both files are ready. Rendering on a RunPod GPU is not in this version yet; add your
              RunPod key in Settings now so it is ready when it arrives.
            </p>
            <button onClick={onOpenSettings}>Open Settings</button>
          </>
        ) : (
          <p className="muted">
            {inputs.photo ? "Now add the dance video." : inputs.video ? "Now add the reference photo." : "Start by adding both files."}
          </p>
        )}
      </div>
    </section>
  );
}
