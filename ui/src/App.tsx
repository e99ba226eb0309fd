import { useCallback, useEffect, useState } from "react";
import { api } from "./api";
import type { JobSpec } from "./jobs";
import { OrphanBanner } from "./components/OrphanBanner";
import { RecoveredBanner } from "./components/RecoveredBanner";
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
  const [again, setAgain] = useState<JobSpec | null>(null);
  const onAgainUsed = useCallback(() => setAgain(null), []);
  /// A render the queue panel asked to see in the gallery.
  const [galleryFocus, setGalleryFocus] = useState<string | null>(null);
  const [demo, setDemo] = useState(false);
  useEffect(() => {
    api.appInfo().then((i) => setDemo(i.demo), () => undefined);
  }, [screen]);
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
            onClick={() => {
              setGalleryFocus(null);
              setScreen(s.id);
            }}
          >
            {s.label}
          </button>
        ))}
        {demo && (
          <div className="demo-banner" data-testid="demo-banner" title="Renders use built-in stand-in servers: no key, no cost, a test-pattern video.">
            Demo mode: nothing is billed
          </div>
        )}
      </nav>
      <main className="content">
        <RecoveredBanner onShowGallery={() => setScreen("gallery")} />
        <OrphanBanner onShowPods={() => setScreen("pods")} />
        {/* Create stays mounted so a running render keeps its progress while you look elsewhere. */}
        <div hidden={screen !== "create"}>
          <CreateScreen
            onOpenSettings={() => setScreen("settings")}
            again={again}
            onAgainUsed={onAgainUsed}
            onOpenGallery={(jobId) => {
              setGalleryFocus(jobId);
              setScreen("gallery");
            }}
          />
        </div>
        {screen === "gallery" && (
          <GalleryScreen
            focusId={galleryFocus}
            onCreate={() => setScreen("create")}
            onRenderAgain={(spec) => {
              setAgain(spec);
              setScreen("create");
            }}
          />
        )}
        {screen === "pods" && <PodsScreen />}
        {screen === "settings" && <SettingsScreen />}
      </main>
    </div>
  );
}
