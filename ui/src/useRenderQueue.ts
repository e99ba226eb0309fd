// The render queue as the Create screen holds it: a batch this window starts or resumes (with
// its events), or the one the engine reports (after a reload or a restart), asked again while
// anything in it is unfinished.
import { useCallback, useEffect, useRef, useState } from "react";
import { asStudioError, type StudioError } from "./api";
import { batches, type BatchPlan } from "./batch";
import type { BatchEvent, JobEvent } from "./jobs";
import { emptyQueue, fold, starting, unfinished, withQueue, type QueueState } from "./queueState";

const POLL_MS = 2000;

export interface RenderQueue {
  state: QueueState;
  error: StudioError | null;
  start: (plan: BatchPlan, onFinished?: (e: Extract<BatchEvent, { event: "batchFinished" }>) => void) => Promise<void>;
  resume: () => Promise<void>;
  cancel: (jobId: string) => Promise<void>;
  cancelAll: () => Promise<void>;
  refresh: () => Promise<void>;
}

export function useRenderQueue(): RenderQueue {
  const [state, setState] = useState<QueueState>(emptyQueue);
  const [error, setError] = useState<StudioError | null>(null);
  const ref = useRef(state);
  ref.current = state;

  const refresh = useCallback(async () => {
    try {
      const items = await batches.queue();
      setState((q) => withQueue(q, items));
    } catch (e) {
      setError(asStudioError(e));
    }
  }, []);

  useEffect(() => {
    refresh();
  }, [refresh]);

  const busy = unfinished(state);
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(refresh, POLL_MS);
    return () => clearInterval(t);
  }, [busy, refresh]);

  const follow = useCallback(
    async (run: (onEvent: (e: JobEvent) => void) => Promise<unknown>, onFinished?: (e: Extract<BatchEvent, { event: "batchFinished" }>) => void) => {
      setError(null);
      try {
        await run((e) => {
          setState((q) => fold(q, e));
          if (e.event === "batchFinished") onFinished?.(e);
        });
      } catch (e) {
        setError(asStudioError(e));
      } finally {
        setState((q) => ({ ...q, running: false, pending: null }));
        await refresh();
      }
    },
    [refresh],
  );

  const start = useCallback(
    async (plan: BatchPlan, onFinished?: (e: Extract<BatchEvent, { event: "batchFinished" }>) => void) => {
      setState(starting(plan));
      await follow((onEvent) => batches.start(plan.planId, onEvent), onFinished);
    },
    [follow],
  );

  const resume = useCallback(async () => {
    const batchId = ref.current.batchId;
    if (!batchId) return;
    setState((q) => ({ ...q, running: true, finished: null }));
    await follow((onEvent) => batches.resume(batchId, onEvent));
  }, [follow]);

  const act = useCallback(
    async (action: () => Promise<void>) => {
      setError(null);
      await action().catch((e) => setError(asStudioError(e)));
      await refresh();
    },
    [refresh],
  );

  const cancel = useCallback((jobId: string) => act(() => batches.cancelRender(jobId)), [act]);
  const cancelAll = useCallback(
    () => act(async () => (ref.current.batchId ? batches.cancelBatch(ref.current.batchId) : undefined)),
    [act],
  );

  return { state, error, start, resume, cancel, cancelAll, refresh };
}
