import { describe, expect, it } from "vitest";
import { badges, initialPreview, reducePreview, type FrameCheck, type PreviewEvent } from "./pose";
import { downloadFraction } from "./usePosePreview";

const ok: FrameCheck = { people: 1, no_person: false, multiple_people: false, cut_off: false, low_confidence: false, body_score: 0.9 };
const frame = (index: number, check: Partial<FrameCheck> = {}): PreviewEvent => ({
  kind: "frame",
  info: { index, pts_secs: index / 25, width: 360, height: 640, check: { ...ok, ...check } },
  picture: "data:p",
  skeleton: "data:s",
});

describe("pose preview state", () => {
  it("follows the events and times the first frame", () => {
    let s = initialPreview("/v.mp4", 1000);
    expect(s.status).toBe("loading");
    s = reducePreview(s, { kind: "started", total_frames: 9, every_nth: 6, engine: "rten" }, 1100);
    expect(s.status).toBe("running");
    expect(s.total).toBe(9);
    expect(s.engine).toBe("rten");
    s = reducePreview(s, frame(0), 1800);
    s = reducePreview(s, frame(6), 2300);
    expect(s.firstFrameMs).toBe(800);
    expect(s.frames.map((f) => f.secs)).toEqual([0, 0.24]);
  });

  it("counts problems live, then shows the engine's advice", () => {
    let s = initialPreview("/v.mp4", 0);
    s = reducePreview(s, frame(0), 1);
    expect(badges(s)).toEqual([{ code: "pose.ok", severity: "ok", text: "One whole dancer in 1 of 1 frames so far" }]);
    s = reducePreview(s, frame(6, { no_person: true, people: 0 }), 2);
    s = reducePreview(s, frame(12, { cut_off: true, multiple_people: true, people: 2 }), 3);
    expect(badges(s).map((b) => b.text)).toEqual([
      "1 of 3 frames show nobody",
      "1 of 3 frames show more than one person",
      "1 of 3 frames cut the body off at the edge",
    ]);
    const warnings = [{ code: "pose.dancer_leaves_frame", message: "The dancer leaves the frame." }];
    const checks = { frames: 3, no_person: [6], multiple_people: [12], cut_off: [12], low_confidence: [], dancer_leaves_frame: true, warnings };
    s = reducePreview(s, { kind: "finished", summary: { checks, frames: 3, cancelled: false, first_frame_after_ms: 5, elapsed_ms: 9 } }, 4);
    expect(s.status).toBe("done");
    expect(badges(s)).toEqual([{ code: "pose.dancer_leaves_frame", severity: "warning", text: "The dancer leaves the frame." }]);
  });

  it("a cancelled preview keeps its frames", () => {
    let s = reducePreview(initialPreview("/v.mp4", 0), frame(0), 1);
    const checks = { frames: 1, no_person: [], multiple_people: [], cut_off: [], low_confidence: [], dancer_leaves_frame: false, warnings: [] };
    s = reducePreview(s, { kind: "finished", summary: { checks, frames: 1, cancelled: true, first_frame_after_ms: 1, elapsed_ms: 2 } }, 2);
    expect(s.status).toBe("cancelled");
    expect(s.frames).toHaveLength(1);
    expect(badges(s)[0].code).toBe("pose.ok");
  });

  it("download fraction counts finished files and resumable parts", () => {
    const models = {
      ready: false,
      engine_upgrade: true,
      expected_bytes: 1300,
      dir: "/m",
      downloading: false,
      files: [
        { file: "a.onnx", ready: true, have: 200, expected: 200, optional: false },
        { file: "b.onnx", ready: false, have: 25, expected: 100, optional: false },
        { file: "ort.whl", ready: false, have: 0, expected: 1000, optional: true },
      ],
    };
    const idle = { running: false, progress: {}, error: null };
    expect(downloadFraction(models, idle)).toBeCloseTo(225 / 300);
    const live = { ...idle, running: true, progress: { "b.onnx": { file: "b.onnx", done: 50, total: 100 } } };
    expect(downloadFraction(models, live)).toBeCloseTo(250 / 300);
    expect(downloadFraction(null, idle)).toBe(0);
    // Once the optional engine library is downloading it counts too.
    const withEngine = { ...idle, running: true, progress: { "ort.whl": { file: "ort.whl", done: 100, total: 1000 } } };
    expect(downloadFraction(models, withEngine)).toBeCloseTo((225 + 100) / 1300);
  });
});
