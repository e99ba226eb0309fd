import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { RecoveredBanner, recoveredText } from "./RecoveredBanner";
import { fakeBackend } from "../testing";
import type { Recovered } from "../jobs";

afterEach(() => cleanup());

const finished: Recovered = { jobId: "a", from: "generating", to: "done", costUsd: 0.42, error: null };
const stopped: Recovered = {
  jobId: "b",
  from: "uploading",
  to: "interrupted",
  costUsd: 0.1,
  error: { code: "jobs.interrupted", message: "The app closed while uploading." },
};
const pending: Recovered = { jobId: "c", from: "generating", to: "generating", costUsd: 0.2, error: null };

describe("RecoveredBanner", () => {
  it("says what became of each interrupted render and what it cost", () => {
    expect(recoveredText([finished])).toBe(
      "The app ended unexpectedly while rendering. The render was finished in the background. GPU time used: $0.42.",
    );
    const mixed = recoveredText([finished, stopped, pending]);
    expect(mixed).toContain("One render could not be finished; its GPU was shut down.");
    expect(mixed).toContain("RunPod did not answer");
    expect(mixed).toContain("$0.72");
  });

  it("shows once start-up recovery reports, links to the gallery, and can be dismissed", async () => {
    fakeBackend({}, (cmd) => (cmd === "startup_report" ? [finished] : undefined));
    let shown = false;
    render(<RecoveredBanner onShowGallery={() => (shown = true)} />);
    expect((await screen.findByTestId("recovered-banner")).textContent).toContain("finished in the background");
    fireEvent.click(screen.getByTestId("recovered-gallery"));
    expect(shown).toBe(true);
    fireEvent.click(screen.getByLabelText("Dismiss"));
    expect(screen.queryByTestId("recovered-banner")).toBeNull();
  });

  it("shows nothing after a clean exit", async () => {
    const { calls } = fakeBackend({});
    render(<RecoveredBanner onShowGallery={() => undefined} />);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.some((c) => c.cmd === "startup_report")).toBe(true);
    expect(screen.queryByTestId("recovered-banner")).toBeNull();
  });
});
