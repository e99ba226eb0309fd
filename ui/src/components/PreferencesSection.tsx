import { useState } from "react";
import { open } from "@tauri-apps/plugin-dialog";
import { api, asStudioError, type Settings, type SettingsView, type StudioError } from "../api";
import { PodAdvanced } from "./PodAdvanced";

const KNOWN_GPUS = [
  "NVIDIA A100 80GB PCIe",
  "NVIDIA A100-SXM4-80GB",
  "NVIDIA H100 80GB HBM3",
  "NVIDIA H100 PCIe",
  "NVIDIA H100 NVL",
  "NVIDIA GeForce RTX 4090",
];

export function PreferencesSection({ initial }: { initial: SettingsView | StudioError }) {
  const loaded = "settings" in initial ? initial : null;
  const [view, setView] = useState<SettingsView | null>(loaded);
  const [draft, setDraft] = useState<Settings | null>(loaded?.settings ?? null);
  const [error, setError] = useState<StudioError | null>(loaded ? null : (initial as StudioError));
  const [saved, setSaved] = useState(false);

  if (!draft || !view) {
    return error ? <p className="error-box">{error.message}</p> : null;
  }

  const update = (patch: Partial<Settings>) => {
    setSaved(false);
    setDraft({ ...draft, ...patch });
  };
  const move = (i: number, by: number) => {
    const ids = [...draft.gpuIds];
    const [g] = ids.splice(i, 1);
    ids.splice(i + by, 0, g);
    update({ gpuIds: ids });
  };
  const toAdd = KNOWN_GPUS.filter((g) => !draft.gpuIds.includes(g));

  async function persist(action: () => Promise<SettingsView>) {
    setError(null);
    try {
      const v = await action();
      setView(v);
      setDraft(v.settings);
      setSaved(true);
    } catch (e) {
      setError(asStudioError(e));
    }
  }

  async function chooseFolder() {
    const dir = await open({ directory: true, title: "Where should finished videos go?" });
    if (typeof dir === "string") update({ outputDir: dir });
  }

  return (
    <section className="panel" data-testid="preferences-section">
      <h2>Preferences</h2>
      <div className="field">
        <span>Where renders run</span>
        <label className="check">
          <input
            type="radio"
            name="target"
            checked={!draft.demoMode && !draft.comfyUrl}
            onChange={() => update({ demoMode: false, comfyUrl: null })}
            data-testid="target-runpod"
          />
          On a RunPod GPU started for each render (needs your key, billed by the second)
        </label>
        <label className="check">
          <input
            type="radio"
            name="target"
            checked={!draft.demoMode && draft.comfyUrl != null}
            onChange={() => update({ demoMode: false, comfyUrl: draft.comfyUrl ?? "http://127.0.0.1:8188" })}
            data-testid="target-comfy"
          />
          On a ComfyUI server I already have
        </label>
        {!draft.demoMode && draft.comfyUrl != null && (
          <input
            value={draft.comfyUrl}
            onChange={(e) => update({ comfyUrl: e.target.value })}
            placeholder="http://192.168.1.20:8188"
            spellCheck={false}
            data-testid="comfy-url"
          />
        )}
        <label className="check">
          <input type="radio" name="target" checked={draft.demoMode} onChange={() => update({ demoMode: true })} data-testid="target-demo" />
          Demo: try every screen against built-in stand-in servers (no key, no cost, a test-pattern video)
        </label>
      </div>
      <label className="field">
        <span>Spending cap per render (US dollars)</span>
        <input
          type="number"
          min={0}
          step={0.5}
          value={draft.budgetUsd ?? ""}
          placeholder="no cap"
          onChange={(e) => update({ budgetUsd: e.target.value === "" ? null : Number(e.target.value) })}
          data-testid="budget"
        />
        <small className="muted">A render that reaches it stops and its GPU is shut down. A batch may spend this much per render, in all.</small>
      </label>
      <div className="grid2">
        <label className="field">
          <span>Pods at once</span>
          <input
            type="number"
            min={1}
            max={8}
            step={1}
            value={draft.maxPods}
            onChange={(e) => update({ maxPods: Math.round(Number(e.target.value)) })}
            data-testid="max-pods"
          />
          <small className="muted">
            For several renders: more GPUs finish sooner, but each one pays its own start-up (a few minutes of GPU time).
          </small>
        </label>
        <label className="field">
          <span>Stop a pod I started after this many minutes without a render</span>
          <input
            type="number"
            min={1}
            max={240}
            step={1}
            value={draft.warmIdleMinutes}
            onChange={(e) => update({ warmIdleMinutes: Math.round(Number(e.target.value)) })}
            data-testid="warm-idle-minutes"
          />
          <small className="muted">A pod you start on the Pods screen stays warm for renders; unused this long, it is shut down.</small>
        </label>
      </div>
      <div className="field" data-testid="pod-software">
        <span>Software on the GPU</span>
        <label className="check">
          <input type="radio" name="software" checked={!draft.ownImage} onChange={() => update({ ownImage: false })} data-testid="software-pinned" />
          The pinned SteadyDancer environment (recommended): installed by the app at fixed versions and checked before anything is uploaded
        </label>
        <label className="check">
          <input type="radio" name="software" checked={draft.ownImage} onChange={() => update({ ownImage: true })} data-testid="software-own" />
          An image of my own (advanced, unchecked: the app cannot know what it installs, and a missing node or model shows only on the pod)
        </label>
        {draft.ownImage && (
          <input
            value={draft.podImage}
            placeholder="ghcr.io/owner/image:tag"
            onChange={(e) => update({ podImage: e.target.value })}
            data-testid="pod-image"
            spellCheck={false}
          />
        )}
      </div>
      <div className="field">
        <span>GPU types, tried in this order</span>
        <ol className="gpu-list" data-testid="gpu-list">
          {draft.gpuIds.map((g, i) => (
            <li key={g}>
              <span>{g}</span>
              <button className="link" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move ${g} up`}>
                ↑
              </button>
              <button className="link" disabled={i === draft.gpuIds.length - 1} onClick={() => move(i, 1)} aria-label={`Move ${g} down`}>
                ↓
              </button>
              <button className="link" onClick={() => update({ gpuIds: draft.gpuIds.filter((x) => x !== g) })}>
                Remove
              </button>
            </li>
          ))}
        </ol>
        {toAdd.length > 0 && (
          <select
            value=""
            onChange={(e) => e.target.value && update({ gpuIds: [...draft.gpuIds, e.target.value] })}
            aria-label="Add a GPU type"
          >
            <option value="">Add a GPU type…</option>
            {toAdd.map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
        )}
      </div>
      <div className="field">
        <span>Output folder</span>
        <div className="row">
          <code data-testid="output-dir">{draft.outputDir ?? view.defaultOutputDir}</code>
          <button onClick={chooseFolder}>Choose…</button>
          {draft.outputDir && (
            <button className="link" onClick={() => update({ outputDir: null })}>
              Use default
            </button>
          )}
        </div>
      </div>
      <PodAdvanced draft={draft} update={update} />
      <div className="row actions">
        <button className="primary" data-testid="settings-save" onClick={() => persist(() => api.saveSettings(draft))}>
          Save preferences
        </button>
        <button onClick={() => persist(api.restoreDefaultSettings)} data-testid="settings-defaults">
          Restore defaults
        </button>
        {saved && <span className="notice" data-testid="settings-saved">Saved.</span>}
      </div>
      {error && (
        <p className="error-box" role="alert" data-testid="settings-error">
          {error.message}
        </p>
      )}
    </section>
  );
}
