import { ApiKeySection } from "../components/ApiKeySection";
import { PreferencesSection } from "../components/PreferencesSection";

export function SettingsScreen() {
  return (
    <section data-testid="screen-settings" className="screen">
      <h1>Settings</h1>
      <ApiKeySection />
      <PreferencesSection />
    </section>
  );
}
