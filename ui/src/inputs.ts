// Sorting dropped files into the Create screen's photos and videos: every photo renders with
// every video, so one of each is a single render and more make a batch.
import { api, asStudioError, type ProbedFile, type StudioError } from "./api";
import { fileNameOf } from "./format";

export interface Inputs {
  photos: ProbedFile[];
  videos: ProbedFile[];
  errors: { file: string; error: StudioError }[];
}

export type Probed = { path: string; probed: ProbedFile } | { path: string; error: StudioError };

export const emptyInputs: Inputs = { photos: [], videos: [], errors: [] };

export async function probeAll(paths: string[]): Promise<Probed[]> {
  return Promise.all(
    paths.map(async (path): Promise<Probed> => {
      try {
        return { path, probed: await api.probeMedia(path) };
      } catch (e) {
        return { path, error: asStudioError(e) };
      }
    }),
  );
}

/// Adds each file by what it really is, not by its extension (a file added again keeps its
/// place); errors replace older errors.
export function merge(current: Inputs, results: Probed[]): Inputs {
  const next: Inputs = { photos: [...current.photos], videos: [...current.videos], errors: [] };
  for (const r of results) {
    if ("error" in r) {
      next.errors.push({ file: fileNameOf(r.path), error: r.error });
      continue;
    }
    const list = r.probed.facts.kind === "image" ? next.photos : next.videos;
    const at = list.findIndex((f) => f.facts.path === r.probed.facts.path);
    if (at >= 0) list[at] = r.probed;
    else list.push(r.probed);
  }
  return next;
}

export function without(inputs: Inputs, path: string): Inputs {
  return {
    ...inputs,
    photos: inputs.photos.filter((f) => f.facts.path !== path),
    videos: inputs.videos.filter((f) => f.facts.path !== path),
  };
}
