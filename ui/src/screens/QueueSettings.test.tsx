import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { App } from "../App";
import type { PodView } from "../jobs";
import { fakeBackend } from "../testing";

afterEach(cleanup);

describe("settings and pods for the queue", () => {
  it("saves pods at once and the idle minutes with the other preferences", async () => {
    const { calls } = fakeBackend({});
    render(<App />);
    fireEvent.click(screen.getByTestId("nav-settings"));
    const pods = (await screen.findByTestId("max-pods")) as HTMLInputElement;
    expect(pods.value).toBe("1");
    expect((screen.getByTestId("warm-idle-minutes") as HTMLInputElement).value).toBe("10");
    expect(pods.closest("label")!.textContent).toMatch(/finish sooner.*own start-up/);
    fireEvent.change(pods, { target: { value: "3" } });
    fireEvent.change(screen.getByTestId("warm-idle-minutes"), { target: { value: "25" } });
    fireEvent.click(screen.getByTestId("settings-save"));
    await screen.findByTestId("settings-saved");
    const saved = calls.find((c) => c.cmd === "save_settings")!.args.settings as Record<string, unknown>;
    expect([saved.maxPods, saved.warmIdleMinutes]).toEqual([3, 25]);
  });

  it("says when the idle timer stops a pod you started, and who holds the others", async () => {
    const stopsAt = new Date(2026, 10, 30, 14, 5).getTime();
    const pod = (podId: string, owner: string | null, idleStopsAtMs: number | null): PodView => ({
      podId,
      name: podId,
      status: "RUNNING",
      gpuId: "NVIDIA A100 80GB PCIe",
      rateUsdPerHour: 1.64,
      uptimeSecs: 60,
      costUsd: 0.03,
      stage: null,
      owner,
      idleStopsAtMs,
    });
    fakeBackend({}, (cmd) => (cmd === "pods_list" ? [pod("warm1", null, stopsAt), pod("busy1", "batch:0123456789", null)] : undefined));
    render(<App />);
    fireEvent.click(screen.getByTestId("nav-pods"));
    await waitFor(() => expect(screen.getAllByTestId("pod-row")).toHaveLength(2));
    const expected = new Date(stopsAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    expect(screen.getByTestId("pod-idle-stop").textContent).toBe(`stops at ${expected} if unused`);
    expect(screen.getAllByTestId("pod-owner").map((o) => o.textContent)).toEqual(["started by you, free for renders", "rendering a batch 01234567"]);
  });
});
