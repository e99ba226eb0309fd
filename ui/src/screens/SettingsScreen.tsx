import { useEffect, useState } from "react";
import { api, asStudioError, type KeyStatus, type SettingsView, type StudioError } from "../api";
import { ApiKeySection } from "../components/ApiKeySection";
import { PreferencesSection } from "../components/PreferencesSection";

interface Loaded {
  key: KeyStatus | StudioError;
  settings: SettingsView | StudioError;
}

/// Both sections appear together: the keychain answers slower than the settings file, and a key
/// row popping in above the preferences would move the radio buttons under the user's pointer.
export function SettingsScreen() {
  const [loaded, setLoaded] = useState<Loaded | null>(null);

  useEffect(() => {
    let live = true;
    const settle = <T,>(p: Promise<T>) => p.catch((e: unknown) => asStudioError(e));
    Promise.all([settle(api.getKeyStatus()), settle(api.getSettings())]).then(([key, settings]) => {
      if (live) setLoaded({ key, settings });
    });
    return () => {
      live = false;
    };
  }, []);

  return (
    <section data-testid="screen-settings" className="screen">
      <h1>Settings</h1>
      {loaded ? (
        <>
          <ApiKeySection initial={loaded.key} />
          <PreferencesSection initial={loaded.settings} />
        </>
      ) : (
        <p className="muted" data-testid="settings-loading">
          Reading your settings and keychain…
        </p>
      )}
    </section>
  );
}
