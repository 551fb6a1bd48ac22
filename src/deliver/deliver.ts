import type { DateTime } from "luxon";
import type { Logger } from "../infra/log.js";
import type { NotifyEvent } from "../notify/event.js";
import type { Outlet } from "../notify/types.js";
import type { NoticeChange, NoticeRecord } from "../state/ledger.js";

/** A pending message older than this is given up on: news of a shift long past helps no one. */
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;

/** What became of the messages of a run, per channel (its name in the config). */
export type ChannelTally = { sent: number; failed: number; skipped: number; required: boolean };
export type NotifyTally = Map<string, ChannelTally>;

/** The tally, and how many messages a stop left unsent (pending for the next run). */
export type Delivered = { tally: NotifyTally; unsent: number };

export type DeliverDeps = {
  log: Logger;
  now: DateTime;
  /** Records notice changes; resolves once they are on disk (the ledger writer's `notice`). */
  record: (...changes: NoticeChange[]) => Promise<void>;
  /** True once the run must start nothing more (a stop request, a record that could not be written). */
  stopped: () => boolean;
};

export function emptyTally(outlets: readonly Outlet[]): NotifyTally {
  const t: NotifyTally = new Map();
  for (const o of outlets) t.set(o.channel, { sent: 0, failed: 0, skipped: 0, required: o.required });
  return t;
}

/** The outlets that want an event, by key. */
export function outletsFor(e: NotifyEvent, outlets: readonly Outlet[]): string[] {
  return outlets.filter((o) => o.wants(e)).map((o) => o.key);
}

/**
 * Sends every pending message the ledger holds, this run's and those an earlier run left (killed
 * before it sent them, or a channel that was down), oldest first, one at a time. Each delivery is
 * recorded as soon as it is made, before the next one starts: a run killed between a delivery and its
 * record sends that one message again (the event id lets a receiver drop it); none is lost. A failed
 * delivery stays pending for the next run, for a day.
 */
export async function deliverPending(
  notices: readonly NoticeRecord[],
  outlets: readonly Outlet[],
  deps: DeliverDeps,
): Promise<Delivered> {
  const tally = emptyTally(outlets);
  const byKey = new Map(outlets.map((o) => [o.key, o]));
  const pending = notices
    .filter((n) => n.pending.length > 0)
    .sort((a, b) => compareKeys(orderOf(a.event), orderOf(b.event)));
  const total = pending.reduce((sum, n) => sum + n.pending.length, 0);
  let tried = 0;
  for (const n of pending) {
    for (const key of n.pending) {
      if (deps.stopped()) return { tally, unsent: total - tried };
      tried++;
      const outlet = byKey.get(key);
      const settle = { settle: { id: n.event.id, key } };
      if (!outlet) {
        deps.log.warn("a message is pending for a channel the config no longer has; it is dropped", {
          channel: key,
          event: n.event.id,
        });
        await deps.record(settle);
        continue;
      }
      if (deps.now.toMillis() - Date.parse(n.event.at) > GIVE_UP_AFTER_MS) {
        deps.log.warn("a message could not be delivered for a day; it is given up", {
          channel: key,
          event: n.event.id,
          type: n.event.type,
        });
        await deps.record(settle);
        continue;
      }
      const t = tally.get(outlet.channel) as ChannelTally;
      const result = await outlet.send(n.event);
      if (result.status === "failed") {
        t.failed++;
        deps.log.warn("notification failed; the next run tries again", {
          channel: key,
          event: n.event.id,
          type: n.event.type,
          error: result.error,
        });
        continue;
      }
      if (result.status === "skipped") {
        t.skipped++;
        deps.log.info("notification skipped", { channel: key, event: n.event.id, reason: result.reason });
      } else {
        t.sent++;
        deps.log.info("notification sent", { channel: key, event: n.event.id, type: n.event.type });
      }
      await deps.record(settle);
    }
  }
  return { tally, unsent: 0 };
}

/**
 * A dry run's messages: those still pending from earlier runs, then this run's, each to the outlets
 * that want it and have not had it; none of it sent.
 */
export function previewMessages(
  events: readonly NotifyEvent[],
  outlets: readonly Outlet[],
  known: readonly NoticeRecord[],
): { channel: string; event: NotifyEvent; text: string }[] {
  const done = new Map(known.map((n) => [n.event.id, new Set([...n.done, ...n.pending])]));
  // Messages an earlier run could not send go first, as a real run sends them.
  const left = known.flatMap((n) =>
    n.pending.flatMap((key) => {
      const o = outlets.find((x) => x.key === key);
      return o ? [{ channel: key, event: n.event, text: o.preview(n.event) }] : [];
    }),
  );
  const fresh = events.flatMap((e) =>
    outlets
      .filter((o) => o.wants(e) && !done.get(e.id)?.has(o.key))
      .map((o) => ({ channel: o.key, event: e, text: o.preview(e) })),
  );
  return [...left, ...fresh];
}

/**
 * Oldest first; within a run, the person's messages before the summary, in an order that does not
 * depend on which call finished first (calls run concurrently).
 */
function orderOf(e: NotifyEvent): string[] {
  return [
    e.at,
    e.type === "summary" ? "1" : "0",
    e.identity ?? "",
    e.target ?? "",
    e.resource ?? "",
    e.start ?? "",
    e.rule ?? "",
    e.kind,
    e.id,
  ];
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
