import { DateTime } from "luxon";
import { z } from "zod";
import type { AccessRequest, AccessRequestState } from "../types.js";

/**
 * What `tctl requests ls --format=json` and `tctl acl users ls LIST --format=json` print, checked in
 * the fields shiftgrant reads only.
 *
 * NOTE: tctl prints Teleport's resources with Go's encoding/json: a request's `spec.state` is the
 * protobuf enum as its number (0 NONE, 1 PENDING, 2 APPROVED, 3 DENIED, 4 PROMOTED), and it is left
 * out when 0 (`omitempty`). The names are accepted too, in case a version prints them. `roles` is
 * left out for a request of resources. Times are RFC 3339 with up to nine fractional digits.
 */
const STATES: readonly AccessRequestState[] = ["NONE", "PENDING", "APPROVED", "DENIED", "PROMOTED"];

const time = z.string().refine((s) => DateTime.fromISO(s, { zone: "utc" }).isValid, "not an RFC 3339 time");

const requestSchema = z.object({
  metadata: z.object({ name: z.string().min(1), expires: time.optional() }),
  spec: z.object({
    user: z.string().min(1),
    roles: z.array(z.string()).nullish(),
    state: z.union([z.number().int(), z.string()]).optional(),
    expires: time,
  }),
});

const memberSchema = z.object({
  metadata: z.object({ name: z.string().min(1) }).optional(),
  spec: z.object({
    name: z.string().min(1),
    membership_kind: z.string().optional(),
    // Go's zero time (year 1) when the membership has no end.
    expires: time.optional(),
  }),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function parseArray<T>(stdout: string, what: string, item: z.ZodType<T>): Parsed<T[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    const first = stdout.trim().split("\n")[0] ?? "";
    return { ok: false, error: `${what} did not print JSON (${first ? first.slice(0, 120) : "nothing"})` };
  }
  // An empty listing is `[]`; older versions print `null` for none.
  if (doc === null) return { ok: true, value: [] };
  const parsed = z.array(item).safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: `${what} printed JSON that is not the list expected (${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"})`,
    };
  }
  return { ok: true, value: parsed.data };
}

export function parseRequests(stdout: string): Parsed<AccessRequest[]> {
  const parsed = parseArray(stdout, "tctl requests ls", requestSchema);
  if (!parsed.ok) return parsed;
  return {
    ok: true,
    value: parsed.value.map((r) => ({
      id: r.metadata.name,
      user: r.spec.user,
      roles: [...new Set(r.spec.roles ?? [])].sort(),
      state: stateOf(r.spec.state),
      expires: DateTime.fromISO(r.spec.expires, { zone: "utc" }),
      // The resource's expiry: while pending, the end of the request TTL.
      ...(r.metadata.expires ? { pendingUntil: DateTime.fromISO(r.metadata.expires, { zone: "utc" }) } : {}),
    })),
  };
}

/** A state shiftgrant does not know is never PENDING: such a request is never approved. */
function stateOf(state: number | string | undefined): AccessRequestState {
  if (state === undefined) return "NONE";
  if (typeof state === "number") return STATES[state] ?? "NONE";
  return STATES.find((s) => s === state.toUpperCase()) ?? "NONE";
}

/**
 * The users an access list has as members, each with the end of its membership (null: none);
 * nested access lists (members of kind list) are not users.
 */
export function parseMembers(stdout: string): Parsed<{ name: string; expires: DateTime | null }[]> {
  const parsed = parseArray(stdout, "tctl acl users ls", memberSchema);
  if (!parsed.ok) return parsed;
  return {
    ok: true,
    value: parsed.value
      .filter((m) => m.spec.membership_kind !== "MEMBERSHIP_KIND_LIST")
      .map((m) => {
        const expires = m.spec.expires ? DateTime.fromISO(m.spec.expires, { zone: "utc" }) : null;
        return { name: m.spec.name, expires: expires && expires.year > 1 ? expires : null };
      }),
  };
}

/**
 * A lock's `--ttl`, as Go's time.ParseDuration reads it: whole minutes, rounded up so that the lock
 * lasts at least as long as the access, and never less than a minute (a TTL of 0 would make a lock
 * that never ends).
 */
export function lockTtl(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h}h${m}m` : `${m}m`;
}
