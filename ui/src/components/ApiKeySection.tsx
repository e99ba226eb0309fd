import { useEffect, useState } from "react";
import { api, asStudioError, type KeyStatus, type StudioError } from "../api";

/// The key is typed once and sent to the keychain; afterwards only its last four characters
/// come back.
/// `initial` is `null` while a slow keychain (one waiting to be unlocked) has not answered yet.
export function ApiKeySection({ initial }: { initial: KeyStatus | StudioError | null }) {
  const [status, setStatus] = useState<KeyStatus | null>(null);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<StudioError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!initial) return;
    if ("source" in initial) setStatus(initial);
    else setError(initial);
  }, [initial]);

  async function run(action: () => Promise<KeyStatus>, done: string) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      setStatus(await action());
      setDraft("");
      setEditing(false);
      setNotice(done);
    } catch (e) {
      setError(asStudioError(e));
    } finally {
      setBusy(false);
    }
  }

  const hasKey = status && status.source !== "none";
  const showForm = editing || (status && status.source === "none");
  return (
    <section className="panel" data-testid="api-key-section">
      <h2>RunPod API key</h2>
      <p className="muted">
        Renders run on GPUs rented from RunPod with your own account. The key is kept in your
        system keychain, never in a file.
      </p>
      {!initial && !status && !error && (
        <p className="muted" data-testid="key-loading">
          Reading the keychain… (your system may ask you to unlock it)
        </p>
      )}
      {hasKey && !editing && (
        <div className="key-row">
          <span className="key-mask" data-testid="key-mask">
            ••••••••{status.lastFour}
          </span>
          {status.source === "environment" ? (
            <span className="muted">from RUNPOD_API_KEY</span>
          ) : (
            <>
              <button onClick={() => setEditing(true)} data-testid="key-replace">
                Replace
              </button>
              <button
                className="danger"
                disabled={busy}
                data-testid="key-remove"
                onClick={() => run(api.removeApiKey, "The key was removed from the keychain.")}
              >
                Remove
              </button>
            </>
          )}
        </div>
      )}
      {showForm && (
        <form
          className="key-form"
          onSubmit={(e) => {
            e.preventDefault();
            run(() => api.saveApiKey(draft), "The key is saved in your keychain.");
          }}
        >
          <input
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="Paste your RunPod API key"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            data-testid="key-input"
            aria-label="RunPod API key"
          />
          <button className="primary" type="submit" disabled={busy || !draft.trim()} data-testid="key-save">
            Save key
          </button>
          {editing && (
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          )}
        </form>
      )}
      {notice && <p className="notice" data-testid="key-notice">{notice}</p>}
      {error && (
        <p className="error-box" role="alert" data-testid="key-error">
          {error.message}
        </p>
      )}
    </section>
  );
}
