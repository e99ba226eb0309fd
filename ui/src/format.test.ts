import { describe, expect, it } from "vitest";
import { fileNameOf, formatBytes, formatDuration, formatFps, orientation } from "./format";

describe("format", () => {
  it("writes sizes people read", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(25 * 1024 * 1024)).toBe("25 MB");
  });
  it("writes lengths and rates", () => {
    expect(formatDuration(2)).toBe("2.0 s");
    expect(formatDuration(125)).toBe("2 min 05 s");
    expect(formatFps(25)).toBe("25 fps");
    expect(formatFps(29.97)).toBe("29.97 fps");
  });
  it("names orientation and file names", () => {
    expect(orientation(1080, 1920)).toBe("portrait");
    expect(orientation(1920, 1080)).toBe("landscape");
    expect(orientation(512, 512)).toBe("square");
    expect(fileNameOf("/home/a/dance.mp4")).toBe("dance.mp4");
    expect(fileNameOf("C:\\Users\\a\\photo.png")).toBe("photo.png");
  });
});
