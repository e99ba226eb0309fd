import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { ModelCacheSection } from "./ModelCacheSection";
import { fakeBackend } from "../testing";
import type { ModelCacheStatus } from "../modelCache";

afterEach(() => cleanup());

const off: ModelCacheStatus = {
  enabled: false,
  volumeId: null,
  volumeName: null,
  dataCenter: null,
  sizeGb: 60,
  monthlyCostUsd: 4.2,
  exists: null,
  note: null,
  newSizeGb: 60,
  modelBytes: 32_668_420_000,
  newMonthlyCostUsd: 4.2,
  usdPerGbMonth: 0.07,
};
const on: ModelCacheStatus = { ...off, enabled: true, volumeId: "v1", volumeName: "sds-models-ab12", dataCenter: "EU-RO-1", exists: true };

/// A fake backend whose volume follows keep_models; `fail` makes keep_models refuse.
function backend(start: ModelCacheStatus, fail?: { code: string; message: string }) {
  let status = start;
  return fakeBackend({}, (cmd, args) => {
    if (cmd === "model_cache_status") return status;
    if (cmd === "keep_models") {
      if (fail) throw fail;
      status = args.enable ? on : off;
      return status;
    }
    return undefined;
  });
}

describe("ModelCacheSection", () => {
  it("shows the price before creating, then the volume it made", async () => {
    const { calls } = backend(off);
    render(<ModelCacheSection />);
    expect((await screen.findByTestId("model-cache-off")).textContent).toContain("60 GB");
    const create = screen.getByTestId("model-cache-create");
    expect(create.textContent).toContain("$4.20 a month");
    fireEvent.click(create);
    const shown = await screen.findByTestId("model-cache-on");
    expect(shown.textContent).toContain("sds-models-ab12");
    expect(shown.textContent).toContain("EU-RO-1");
    expect(shown.textContent).toContain("$4.20 a month");
    expect(calls.find((c) => c.cmd === "keep_models")?.args).toEqual({ enable: true });
  });

  it("asks before deleting the volume and its models", async () => {
    const { calls } = backend(on);
    render(<ModelCacheSection />);
    fireEvent.click(await screen.findByTestId("model-cache-delete"));
    expect(screen.getByTestId("model-cache-confirm").textContent).toContain("downloads them again");
    fireEvent.click(screen.getByTestId("model-cache-keep"));
    expect(calls.some((c) => c.cmd === "keep_models")).toBe(false);
    expect(screen.queryByTestId("model-cache-confirm")).toBeNull();
    fireEvent.click(screen.getByTestId("model-cache-delete"));
    fireEvent.click(screen.getByTestId("model-cache-confirm-delete"));
    await screen.findByTestId("model-cache-off");
    expect(calls.find((c) => c.cmd === "keep_models")?.args).toEqual({ enable: false });
  });

  it("says when the volume is gone from RunPod and offers a new one", async () => {
    backend({ ...on, exists: false });
    render(<ModelCacheSection />);
    expect((await screen.findByTestId("model-cache-vanished")).textContent).toContain("no longer exists");
    fireEvent.click(screen.getByTestId("model-cache-create"));
    await screen.findByTestId("model-cache-on");
    expect(screen.queryByTestId("model-cache-vanished")).toBeNull();
  });

  it("shows RunPod's refusal in words and keeps the buttons", async () => {
    backend(off, { code: "model_cache.no_data_center", message: "No RunPod data centre with network volumes has any of your GPU types." });
    render(<ModelCacheSection />);
    fireEvent.click(await screen.findByTestId("model-cache-create"));
    expect((await screen.findByTestId("model-cache-error")).textContent).toContain("No RunPod data centre");
    await waitFor(() => expect((screen.getByTestId("model-cache-create") as HTMLButtonElement).disabled).toBe(false));
  });

  it("explains why nothing can be done without a key", async () => {
    backend({ ...off, note: "Add your RunPod API key above to keep models on RunPod." });
    render(<ModelCacheSection />);
    expect((await screen.findByTestId("model-cache-note")).textContent).toContain("API key");
    expect((screen.getByTestId("model-cache-create") as HTMLButtonElement).disabled).toBe(true);
  });
});
