import { afterEach, describe, expect, it } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { emptyInputs, merge, probeAll } from "./inputs";
import { facts, fakeBackend } from "./testing";

afterEach(() => clearMocks());

describe("inputs", () => {
  it("sorts files by what they are and reports bad ones by name", async () => {
    fakeBackend({
      "/in/me.png": { facts: facts({ path: "/in/me.png", kind: "image", fileName: "me.png" }), thumbnail: null },
      "/in/dance.mov": { facts: facts({ path: "/in/dance.mov" }), thumbnail: "data:image/jpeg;base64,AA==" },
      "/in/broken.mp4": { code: "media.corrupt", message: "This video is damaged." },
    });
    const results = await probeAll(["/in/me.png", "/in/dance.mov", "/in/broken.mp4"]);
    const inputs = merge(emptyInputs, results);
    expect(inputs.photo?.facts.fileName).toBe("me.png");
    expect(inputs.video?.facts.path).toBe("/in/dance.mov");
    expect(inputs.errors).toEqual([{ file: "broken.mp4", error: { code: "media.corrupt", message: "This video is damaged." } }]);
  });

  it("keeps earlier files when a later drop fails", async () => {
    fakeBackend({
      "/in/me.png": { facts: facts({ kind: "image" }), thumbnail: null },
    });
    const first = merge(emptyInputs, await probeAll(["/in/me.png"]));
    const second = merge(first, await probeAll(["/in/missing.mp4"]));
    expect(second.photo).not.toBeNull();
    expect(second.video).toBeNull();
    expect(second.errors[0].error.code).toBe("media.not_found");
  });
});
