import { afterEach, describe, expect, it } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { emptyInputs, merge, probeAll, without } from "./inputs";
import { batchSummary } from "./batch";
import { facts, fakeBackend } from "./testing";

afterEach(() => clearMocks());

const image = (path: string) => ({ facts: facts({ path, kind: "image", fileName: path.split("/").pop() }), thumbnail: null });
const video = (path: string) => ({ facts: facts({ path, fileName: path.split("/").pop() }), thumbnail: null });

describe("inputs", () => {
  it("sorts files by what they are and reports bad ones by name", async () => {
    fakeBackend({
      "/in/me.png": { facts: facts({ path: "/in/me.png", kind: "image", fileName: "me.png" }), thumbnail: null },
      "/in/dance.mov": { facts: facts({ path: "/in/dance.mov" }), thumbnail: "data:image/jpeg;base64,AA==" },
      "/in/broken.mp4": { code: "media.corrupt", message: "This video is damaged." },
    });
    const results = await probeAll(["/in/me.png", "/in/dance.mov", "/in/broken.mp4"]);
    const inputs = merge(emptyInputs, results);
    expect(inputs.photos.map((p) => p.facts.fileName)).toEqual(["me.png"]);
    expect(inputs.videos.map((v) => v.facts.path)).toEqual(["/in/dance.mov"]);
    expect(inputs.errors).toEqual([{ file: "broken.mp4", error: { code: "media.corrupt", message: "This video is damaged." } }]);
  });

  it("keeps earlier files when a later drop fails", async () => {
    fakeBackend({
      "/in/me.png": { facts: facts({ kind: "image" }), thumbnail: null },
    });
    const first = merge(emptyInputs, await probeAll(["/in/me.png"]));
    const second = merge(first, await probeAll(["/in/missing.mp4"]));
    expect(second.photos).toHaveLength(1);
    expect(second.videos).toHaveLength(0);
    expect(second.errors[0].error.code).toBe("media.not_found");
  });

  it("adds later drops to the batch, once per file, and removes one at a time", () => {
    let inputs = merge(emptyInputs, [
      { path: "/in/me.png", probed: image("/in/me.png") },
      { path: "/in/a.mp4", probed: video("/in/a.mp4") },
    ]);
    inputs = merge(inputs, [
      { path: "/in/b.mp4", probed: video("/in/b.mp4") },
      { path: "/in/a.mp4", probed: video("/in/a.mp4") },
      { path: "/in/c.mp4", probed: video("/in/c.mp4") },
    ]);
    expect(inputs.videos.map((v) => v.facts.path)).toEqual(["/in/a.mp4", "/in/b.mp4", "/in/c.mp4"]);
    expect(batchSummary(inputs.photos.length, inputs.videos.length)).toBe("1 photo × 3 dances = 3 renders");
    inputs = without(inputs, "/in/b.mp4");
    expect(inputs.videos.map((v) => v.facts.path)).toEqual(["/in/a.mp4", "/in/c.mp4"]);
    inputs = merge(inputs, [{ path: "/in/you.jpg", probed: image("/in/you.jpg") }]);
    expect(batchSummary(inputs.photos.length, inputs.videos.length)).toBe("2 photos × 2 dances = 4 renders");
    expect(batchSummary(1, 1)).toBe("1 photo × 1 dance = 1 render");
  });
});
