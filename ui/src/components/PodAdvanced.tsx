import type { Settings } from "../api";

interface Props {
  draft: Settings;
  update: (patch: Partial<Settings>) => void;
}

function envText(env: Record<string, string>) {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const i = t.indexOf("=");
    if (i < 0) env[t] = "";
    else env[t.slice(0, i).trim()] = t.slice(i + 1).trim();
  }
  return env;
}

/// Pod details most people never touch; "Restore defaults" brings them all back.
export function PodAdvanced({ draft, update }: Props) {
  return (
    <details className="advanced">
      <summary>Advanced pod settings</summary>
      <div className="grid2">
        <label className="field">
          <span>Cloud</span>
          <select value={draft.podCloud} onChange={(e) => update({ podCloud: e.target.value })}>
            <option value="SECURE">Secure cloud (data centres)</option>
            <option value="COMMUNITY">Community cloud (cheaper, hosted by individuals)</option>
          </select>
        </label>
        <label className="field">
          <span>Container disk (GB; your own image only, the pinned environment sizes its own)</span>
          <input type="number" min={10} max={1000} value={draft.podDiskGb} onChange={(e) => update({ podDiskGb: Number(e.target.value) })} />
        </label>
        <label className="field">
          <span>Longest a pod may live (hours)</span>
          <input
            type="number"
            min={0.25}
            max={72}
            step={0.25}
            value={draft.podMaxLifetimeHours}
            onChange={(e) => update({ podMaxLifetimeHours: Number(e.target.value) })}
          />
        </label>
      </div>
      <label className="field">
        <span>
          Your image's start command (only with an image of your own; arms the in-pod safety timer,
          which the pinned environment always has)
        </span>
        <input
          value={draft.podStartCommand ?? ""}
          placeholder="none: the pod is guarded by the app"
          onChange={(e) => update({ podStartCommand: e.target.value || null })}
          spellCheck={false}
        />
      </label>
      <label className="field">
        <span>Environment (one NAME=value per line)</span>
        <textarea
          rows={6}
          spellCheck={false}
          key={envText(draft.podEnv)}
          defaultValue={envText(draft.podEnv)}
          onBlur={(e) => update({ podEnv: parseEnv(e.target.value) })}
          data-testid="pod-env"
        />
      </label>
      <label className="check">
        <input type="checkbox" checked={draft.autoSweep} onChange={(e) => update({ autoSweep: e.target.checked })} />
        At start-up, terminate pods of ours that no render uses without asking
      </label>
    </details>
  );
}
