// Sorting dropped files into the two slots of the Create screen.
import { api, asStudioError, type ProbedFile, type StudioError } from "./api";
import { fileNameOf } from "./format";

export interface Inputs {
  photo: ProbedFile | null;
  video: ProbedFile | null;
  errors: { file: string; error: StudioError }[];
}

export type Probed = { path: string; probed: ProbedFile } | { path: string; error: StudioError };

export const emptyInputs: Inputs = { photo: null, video: null, errors: [] };

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

/// Places each file by what it really is, not by its extension; errors replace older errors.
export function merge(current: Inputs, results: Probed[]): Inputs {
  const next: Inputs = { ...current, errors: [] };
  for (const r of results) {
    if ("error" in r) {
      next.errors.push({ file: fileNameOf(r.path), error: r.error });
    } else if (r.probed.facts.kind === "image") {
      next.photo = r.probed;
    } else {
      next.video = r.probed;
    }
  }
  return next;
}
