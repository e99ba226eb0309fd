import { useState } from "react";
import { CreateScreen } from "./screens/CreateScreen";
import { GalleryScreen } from "./screens/GalleryScreen";
import { PodsScreen } from "./screens/PodsScreen";
import { SettingsScreen } from "./screens/SettingsScreen";

export type Screen = "create" | "gallery" | "pods" | "settings";

const SCREENS: { id: Screen; label: string; hint: string }[] = [
  { id: "create", label: "Create", hint: "Make a new dance video" },
  { id: "gallery", label: "Gallery", hint: "Your finished videos" },
  { id: "pods", label: "Pods", hint: "GPU machines you are paying for" },
  { id: "settings", label: "Settings", hint: "Your RunPod key and preferences" },
];

export function App() {
  const [screen, setScreen] = useState<Screen>("create");
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <img src="/icon.png" alt="" width={36} height={36} />
          <span>SteadyDancer Studio</span>
        </div>
        {SCREENS.map((s) => (
          <button
            key={s.id}
            className={`nav-item${screen === s.id ? " active" : ""}`}
            aria-current={screen === s.id ? "page" : undefined}
            data-testid={`nav-${s.id}`}
            title={s.hint}
            onClick={() => setScreen(s.id)}
          >
            {s.label}
          </button>
        ))}
      </nav>
      <main className="content">
        {screen === "create" && <CreateScreen onOpenSettings={() => setScreen("settings")} />}
        {screen === "gallery" && <GalleryScreen onCreate={() => setScreen("create")} />}
        {screen === "pods" && <PodsScreen />}
        {screen === "settings" && <SettingsScreen />}
      </main>
    </div>
  );
}
