import { useEffect, useState } from "react";
import { api, asStudioError, type KeyStatus, type SettingsView, type StudioError } from "../api";
import { ApiKeySection } from "../components/ApiKeySection";
import { ModelCacheSection } from "../components/ModelCacheSection";
import { PreferencesSection } from "../components/PreferencesSection";

/// How long the screen waits for the keychain before showing the rest without it.
const KEYCHAIN_GRACE_MS = 2000;

/// Both sections appear together: the keychain answers slower than the settings file, and a key
/// row popping in above the preferences would move the radio buttons under the user's pointer.
/// A keychain waiting to be unlocked does not hold the preferences back for longer than the grace.
export function SettingsScreen() {
  const [key, setKey] = useState<KeyStatus | StudioError | null>(null);
  const [settings, setSettings] = useState<SettingsView | StudioError | null>(null);
  const [graceOver, setGraceOver] = useState(false);

  useEffect(() => {
    let live = true;
    const settle = <T,>(p: Promise<T>) => p.catch((e: unknown) => asStudioError(e));
    settle(api.getKeyStatus()).then((k) => live && setKey(k));
    settle(api.getSettings()).then((s) => live && setSettings(s));
    const grace = setTimeout(() => live && setGraceOver(true), KEYCHAIN_GRACE_MS);
    return () => {
      live = false;
      clearTimeout(grace);
    };
  }, []);

  const show = settings !== null && (key !== null || graceOver);
  return (
    <section data-testid="screen-settings" className="screen">
      <h1>Settings</h1>
      {show ? (
        <>
          <ApiKeySection initial={key} />
          <PreferencesSection initial={settings} />
          <ModelCacheSection />
        </>
      ) : (
        <p className="muted" data-testid="settings-loading">
          Reading your settings and keychain…
        </p>
      )}
    </section>
  );
}
