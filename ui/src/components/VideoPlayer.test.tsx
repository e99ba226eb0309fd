import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { mockConvertFileSrc } from "@tauri-apps/api/mocks";
import { VideoPlayer } from "./VideoPlayer";
import { fakeBackend } from "../testing";

afterEach(() => cleanup());

const video = "/data/renders/SteadyDancer_00001.mp4";

describe("VideoPlayer", () => {
  it("plays from the URL the Rust side gives (loopback HTTP on Linux)", async () => {
    const { calls } = fakeBackend({}, (cmd) => (cmd === "video_url" ? "http://127.0.0.1:4242/tok/0/SteadyDancer_00001.mp4" : undefined));
    render(<VideoPlayer path={video} testId="v" autoPlay />);
    await waitFor(() => expect(screen.getByTestId("v").getAttribute("src")).toBe("http://127.0.0.1:4242/tok/0/SteadyDancer_00001.mp4"));
    expect(calls.find((c) => c.cmd === "video_url")?.args).toEqual({ path: video });
    expect(screen.getByTestId("v").hasAttribute("loop")).toBe(true);
  });

  it("falls back to the asset URL where the webview plays it itself", async () => {
    fakeBackend({}, (cmd) => (cmd === "video_url" ? null : undefined));
    mockConvertFileSrc("windows");
    render(<VideoPlayer path={video} testId="v" />);
    await waitFor(() => expect(screen.getByTestId("v").getAttribute("src")).toMatch(/^http:\/\/asset\.localhost\/.*SteadyDancer_00001\.mp4$/));
    expect(screen.queryByTestId("v-problem")).toBeNull();
  });

  it("says what to do when the video cannot be played", async () => {
    fakeBackend({}, (cmd) => {
      if (cmd === "video_url") throw { code: "media.video_missing", message: "The video was moved or deleted." };
      return undefined;
    });
    mockConvertFileSrc("linux");
    render(<VideoPlayer path={video} testId="v" />);
    expect((await screen.findByTestId("v-problem")).textContent).toContain("moved or deleted");
    fakeBackend({}, (cmd) => (cmd === "video_url" ? "http://127.0.0.1:1/t/0/x.mp4" : undefined));
    cleanup();
    render(<VideoPlayer path={video} testId="v" />);
    const el = await waitFor(() => {
      const v = screen.getByTestId("v");
      expect(v.getAttribute("src")).toContain("127.0.0.1");
      return v;
    });
    fireEvent.error(el);
    expect((await screen.findByTestId("v-problem")).textContent).toContain("Show in folder");
  });
});
