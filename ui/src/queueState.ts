// Folds a batch's events and the engine's queue into the rows the queue panel shows. The queue
// (render_queue) is the record, and the only source after a reload or a restart; the events of a
// batch this window started add what the record does not keep (sampling, transfers, live cost).
import { isActive, isFinal, type BatchPlan, type QueueItem } from "./batch";
import type { JobEvent, LeaseState, Stage } from "./jobs";
import { initialRender, reduce, type RenderState } from "./renderState";

export interface Lease {
  gpuId: string | null;
  rateUsdPerHour: number;
  state: LeaseState;
}

export interface QueueState {
  batchId: string | null;
  /// The plan being started, until the batch names its renders' job ids.
  pending: BatchPlan | null;
  items: QueueItem[];
  live: Record<string, RenderState>;
  costUsd: number;
  budgetUsd: number | null;
  leases: Record<string, Lease>;
  finished: { done: number; failed: number; cancelled: number; costUsd: number } | null;
  /// This window holds the batch's event channel (it started or resumed it).
  running: boolean;
  demo: boolean;
}

export interface QueueRow {
  jobId: string;
  /// 1-based place in the batch's queue order.
  position: number;
  image: string;
  video: string;
  stage: Stage;
  costUsd: number | null;
  /// 0..1 within the current stage, when known.
  fraction: number | null;
  /// What the stage is at, in words ("step 2 of 4"), when known.
  detail: string | null;
  outputs: string[];
  error: { code: string; message: string } | null;
}

export const emptyQueue: QueueState = {
  batchId: null,
  pending: null,
  items: [],
  live: {},
  costUsd: 0,
  budgetUsd: null,
  leases: {},
  finished: null,
  running: false,
  demo: false,
};

export function starting(plan: BatchPlan): QueueState {
  return { ...emptyQueue, pending: plan, budgetUsd: plan.budgetUsd, running: true, demo: plan.demo };
}

export function fold(q: QueueState, e: JobEvent, now = Date.now()): QueueState {
  switch (e.event) {
    case "batchStarted": {
      // A resumed batch may name only the renders left: the record keeps the others.
      if (q.batchId === e.batchId && q.items.length > 0) {
        const known = new Set(q.items.map((i) => i.jobId));
        const added = e.jobIds.filter((id) => !known.has(id)).map((id, i) => queued(e.batchId, id, q.items.length + i + 1, "", ""));
        return { ...q, pending: null, items: [...q.items, ...added], finished: null };
      }
      const renders = q.pending?.renders ?? [];
      const items = e.jobIds.map((id, i) => queued(e.batchId, id, i + 1, renders[i]?.image ?? "", renders[i]?.video ?? ""));
      return { ...q, batchId: e.batchId, pending: null, items, finished: null };
    }
    case "batchCost":
      return { ...q, costUsd: e.usd, budgetUsd: e.budgetUsd };
    case "lease":
      return { ...q, leases: { ...q.leases, [e.podId]: { gpuId: e.gpuId, rateUsdPerHour: e.rateUsdPerHour, state: e.state } } };
    case "batchFinished":
      return { ...q, costUsd: e.costUsd, finished: { done: e.done, failed: e.failed, cancelled: e.cancelled, costUsd: e.costUsd } };
    default:
      return { ...q, live: { ...q.live, [e.jobId]: reduce(q.live[e.jobId] ?? initialRender(now), e) } };
  }
}

function queued(batchId: string, jobId: string, position: number, image: string, video: string): QueueItem {
  return { jobId, batchId, position, image, video, stage: "queued", costUsd: null, outputs: [], error: null };
}

const groupOf = (i: QueueItem) => i.batchId ?? i.jobId;

/// Takes the engine's queue. Shows the batch this window follows; else one with renders still
/// to do (after a restart); else the latest.
export function withQueue(q: QueueState, items: QueueItem[]): QueueState {
  const groups = new Map<string, QueueItem[]>();
  for (const i of items) groups.set(groupOf(i), [...(groups.get(groupOf(i)) ?? []), i]);
  const followed = q.batchId ?? (q.pending ? null : undefined);
  // Starting (no id yet), or the followed batch is not in this answer: keep what we have.
  if (followed === null || (followed && !groups.has(followed))) return q;
  let id = followed;
  id ??= [...groups.keys()].find((k) => groups.get(k)!.some((i) => !isFinal(i.stage)));
  id ??= items[0] && groupOf(items[0]);
  if (id === undefined) return q;
  const mine = [...groups.get(id)!].sort((a, b) => a.position - b.position);
  const same = id === q.batchId;
  return {
    ...(same ? q : { ...emptyQueue, demo: q.demo }),
    batchId: id,
    items: mine,
    costUsd: same ? Math.max(q.costUsd, sum(mine)) : sum(mine),
  };
}

const sum = (items: QueueItem[]) => items.reduce((t, i) => t + (i.costUsd ?? 0), 0);

function detailOf(s: RenderState): string | null {
  if (s.finished) return null;
  if (s.stage === "generating" && s.sampling) return `step ${s.sampling.value} of ${s.sampling.max}`;
  // The pod's own words where they add to the stage's name (what it installs, how far the models are).
  if (s.setup && ["installingSoftware", "downloadingModels"].includes(s.stage)) {
    return s.setup.message;
  }
  return null;
}

function fractionOf(s: RenderState): number | null {
  if (s.stage === "generating" && s.sampling) return s.sampling.value / Math.max(1, s.sampling.max);
  if (s.transfer?.total) return s.transfer.done / s.transfer.total;
  if (s.stage === "downloadingModels" && s.setup?.total) return (s.setup.done ?? 0) / s.setup.total;
  return s.fraction;
}

export function rows(q: QueueState): QueueRow[] {
  if (q.items.length === 0 && q.pending) {
    return q.pending.renders.map((r, i) => ({
      jobId: `pending-${i}`,
      position: i + 1,
      image: r.image,
      video: r.video,
      stage: "queued",
      costUsd: null,
      fraction: null,
      detail: null,
      outputs: [],
      error: null,
    }));
  }
  return q.items.map((i) => {
    const live = q.live[i.jobId];
    // The record wins once it says the render ended (removed from the queue, say); a live
    // render's own last word wins over an older record.
    const useLive = live && (live.finished || !isFinal(i.stage));
    return {
      jobId: i.jobId,
      position: i.position,
      image: i.image,
      video: i.video,
      stage: useLive ? live.stage : i.stage,
      costUsd: useLive && (live.costUsd > 0 || i.costUsd == null) ? live.costUsd : i.costUsd,
      fraction: useLive && !live.finished ? fractionOf(live) : null,
      detail: useLive ? detailOf(live) : null,
      outputs: useLive && live.finished ? live.outputs : i.outputs,
      error: useLive && live.finished ? live.error : i.error,
    };
  });
}

export function counts(list: QueueRow[]) {
  const c = { done: 0, failed: 0, cancelled: 0, running: 0, queued: 0 };
  for (const r of list) {
    if (r.stage === "done") c.done++;
    else if (r.stage === "cancelled") c.cancelled++;
    else if (r.stage === "failed" || r.stage === "interrupted") c.failed++;
    else if (r.stage === "queued") c.queued++;
    else c.running++;
  }
  return c;
}

/// Renders still queued and nothing running for them: a batch a restart (or a closed window)
/// left behind, which the user may resume; nothing was paid for its queued renders.
export function resumable(q: QueueState): boolean {
  if (q.running || !q.batchId) return false;
  const list = rows(q);
  return list.some((r) => r.stage === "queued") && !list.some((r) => isActive(r.stage));
}

/// Something is still to happen: worth asking the engine again.
export function unfinished(q: QueueState): boolean {
  return q.running || rows(q).some((r) => !isFinal(r.stage));
}
