import { DateTime } from "luxon";
import { HttpError, type HttpResponse } from "../../infra/http.js";
import { defineTarget } from "../define.js";
import {
  cannotShorten,
  type ActionResult,
  type CheckResult,
  type Target,
  type TargetCall,
  type TargetCapabilities,
  type TargetDeps,
} from "../types.js";
import {
  APONO_TOKEN_ENV,
  aponoResourceProblem,
  aponoSchema,
  aponoStarter,
  normalizeApono,
  type AponoConfig,
} from "./config.js";
import { onceEach } from "../../core/once.js";

export const aponoTarget = defineTarget({
  schema: aponoSchema,
  tokenEnv: APONO_TOKEN_ENV,
  listsMembers: false,
  capabilities: () => APONO_CAPABILITIES,
  normalize: normalizeApono,
  create: createAponoTarget,
  resourceProblem: aponoResourceProblem,
  starter: aponoStarter,
});

/**
 * Apono access requests (API v3). Each grant is one request for the grant's length
 * (`duration_in_sec`), and Apono ends the access itself. Apono has no request that starts later, so a
 * grant waits for its start; an extension is a new request from now up to the new end (the held one
 * is not revoked), so it need not wait for the held one to end. Calls:
 *
 *   GET  /api/v2/users/{email}                 the user's id (once per email and run)
 *   POST /api/v3/access-requests               grant, extend
 *   GET  /api/v3/access-requests/{id}          followed until GRANTED
 *   POST /api/v3/access-requests-bulk/revoke   revoke: every request of the access still running
 *   GET  /api/v2/integrations/{id}             validate --online
 */
export const APONO_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: true,
  shortenInPlace: false,
  expires: true,
  memberships: true,
  listsMembers: false,
  identity: "email",
};

/** Time between two reads of a request that is not granted yet. */
export const APONO_POLL_MS = 2_000;

/** Still on its way to GRANTED. */
const UNDER_WAY = new Set(["PENDING", "APPROVED"]);
/** What each status that ends a request short of GRANTED means, and what to do about it. */
const ENDED: Record<string, string> = {
  REJECTED:
    "Apono rejected it (an approver, or the access flow): give this token's requests an access flow that approves them automatically",
  FAILED:
    "Apono could not provision the access: see the request in the Apono app (the integration's status and its connector)",
  EXPIRED: "it expired before it was granted",
  REVOKING: "it is being revoked",
};

/** An id as Apono gives them: no blanks or control characters, not starting with "-". */
const SANE_ID = /^[^\s\u0000-\u001f\u007f-][^\s\u0000-\u001f\u007f]*$/;

type Found<T> = { ok: true; value: T } | { ok: false; skip: boolean; error: string };
type AponoRequest = { id: string; friendly: string; status: string };

export function createAponoTarget(config: AponoConfig, deps: TargetDeps): Target {
  const now = deps.now ?? (() => DateTime.utc());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const headers: Record<string, string> = { Accept: "application/json" };
  if (deps.token) headers.Authorization = `Bearer ${deps.token}`;
  const call = (method: string, path: string, body?: unknown): Promise<HttpResponse> =>
    deps.http.request(method, new URL(`${config.baseUrl}${path}`), {
      headers,
      ...(body === undefined ? {} : { body }),
      anyBody: true,
      timeoutMs: config.timeoutMs,
    });

  // Per run (a target is made for one run): each email is looked up once.
  const findUser = onceEach((email: string): Promise<Found<string>> => lookUpUser(email), {
    key: (email: string) => email.toLowerCase(),
  });
  // NOTE: Apono's documented lookup by email is GET /api/v2/users/{id} ("get user by Id or Email"):
  // one call per person. The newer /api/admin/v3/users filters by name and role only, so finding an
  // email there would mean listing every user of the organisation.
  const lookUpUser = async (email: string): Promise<Found<string>> => {
    try {
      const res = await call("GET", `/api/v2/users/${encodeURIComponent(email)}`);
      const u = asUser(res.body);
      if (!u)
        return {
          ok: false,
          skip: false,
          error: `GET /api/v2/users/${email}: the answer is not an Apono user`,
        };
      if (!u.active)
        return {
          ok: false,
          skip: true,
          error: `Apono user ${email} is not active: activate the user in Apono (or in the identity provider it syncs from)`,
        };
      return { ok: true, value: u.id };
    } catch (err) {
      if (err instanceof HttpError && err.status === 404)
        return {
          ok: false,
          skip: true,
          error: `Apono has no user with the email ${email}: add the user to Apono (through its identity provider), or map this email to the user's Apono email (identities:)`,
        };
      return { ok: false, skip: false, error: describe(err) };
    }
  };

  /** Reads the request until it is granted, refused, or the target's timeout has been spent waiting. */
  const follow = async (first: AponoRequest): Promise<ActionResult> => {
    let r = first;
    let waited = 0;
    for (;;) {
      const name = `Apono request ${r.friendly ? `${r.friendly} (${r.id})` : r.id}`;
      if (r.status === "GRANTED")
        return { status: "applied", ref: { requestId: r.id }, output: `${name} GRANTED` };
      const ended = ENDED[r.status];
      if (ended) return { status: "failed", error: `${name} is ${r.status}: ${ended}` };
      if (waited >= config.timeoutMs) {
        const why = UNDER_WAY.has(r.status)
          ? "its access flow waits for an approval: give this token's requests an access flow that approves them automatically, or a longer timeout on the target"
          : `Apono reports the status ${r.status}, which shiftgrant does not know`;
        return giveUp(
          r,
          `${name} is still ${r.status} after ${Math.round(config.timeoutMs / 1000)}s; ${why}`,
        );
      }
      if (deps.signal?.aborted)
        return giveUp(
          r,
          `${name} was ${r.status} when the run was asked to stop (${String(deps.signal.reason)})`,
        );
      // The last wait is cut to what is left of the timeout: the timeout bounds the waiting exactly.
      const wait = Math.min(APONO_POLL_MS, config.timeoutMs - waited);
      await sleep(wait);
      waited += wait;
      let res: HttpResponse;
      try {
        res = await call("GET", `/api/v3/access-requests/${encodeURIComponent(r.id)}`);
      } catch (err) {
        return { status: "failed", error: `${name}: ${describe(err)}` };
      }
      const next = asRequest(res.body);
      if (!next) return { status: "failed", error: `${name}: the answer is not an Apono access request` };
      r = { ...next, friendly: next.friendly || r.friendly };
    }
  };

  /**
   * A request still waiting when the timeout is spent (or the run is stopped) is withdrawn, so that an approval that comes
   * later grants nothing shiftgrant does not know of, and the next run's request is not a second one
   * waiting beside it.
   */
  const giveUp = async (r: AponoRequest, error: string): Promise<ActionResult> => {
    try {
      await call("POST", "/api/v3/access-requests-bulk/revoke", { request_ids: [r.id] });
      return { status: "failed", error: `${error}; the request was withdrawn` };
    } catch (err) {
      return { status: "failed", error: `${error}; withdrawing it failed too (${describe(err)})` };
    }
  };

  /** A new request for the resource from now until `c.end`. */
  const request = async (c: TargetCall): Promise<ActionResult> => {
    const resource = config.resources.get(c.resource);
    if (!resource)
      return { status: "failed", error: aponoResourceProblem(config, c.resource) ?? "unknown resource" };
    const seconds = Math.ceil((c.end.toMillis() - now().toMillis()) / 1000);
    if (seconds <= 0) return { status: "failed", error: `the grant's end, ${c.end.toISO()}, has passed` };
    const user = await findUser(c.identity);
    if (!user.ok)
      return user.skip ? { status: "skipped", reason: user.error } : { status: "failed", error: user.error };
    let res: HttpResponse;
    try {
      res = await call("POST", "/api/v3/access-requests", {
        user_id: user.value,
        integration_id: resource.integrationId,
        resource_ids: resource.resourceIds,
        permissions: resource.permissions,
        justification: c.reason,
        duration_in_sec: seconds,
      });
    } catch (err) {
      return { status: "failed", error: describe(err) };
    }
    const created = asRequest(res.body);
    if (!created)
      return {
        status: "failed",
        error: "POST /api/v3/access-requests: the answer is not an Apono access request",
      };
    return follow(created);
  };

  return {
    capabilities: APONO_CAPABILITIES,
    grant: request,
    extend: request,
    shorten: cannotShorten,
    async revoke(c: TargetCall): Promise<ActionResult> {
      // A request whose end has passed was ended by Apono: only those still running are revoked.
      const at = now().toMillis();
      const running = (c.grants ?? []).filter((g) => g.end.toMillis() > at);
      const ids = [...new Set(running.flatMap((g) => (g.ref?.requestId ? [g.ref.requestId] : [])))];
      if (ids.length === 0) {
        return running.length === 0
          ? { status: "applied", output: "no call: every Apono request of this access has ended by itself" }
          : {
              status: "failed",
              error: `the ledger holds no Apono request id for this access: revoke it in the Apono app`,
            };
      }
      try {
        const res = await call("POST", "/api/v3/access-requests-bulk/revoke", { request_ids: ids });
        const message = asMessage(res.body);
        return { status: "applied", output: `revoked ${ids.join(", ")}${message ? `: ${message}` : ""}` };
      } catch (err) {
        return { status: "failed", error: describe(err) };
      }
    },
    // Reading each integration the config names proves the token works and the ids are right, and
    // changes nothing.
    async check(): Promise<CheckResult> {
      const ids = [...new Set([...config.resources.values()].map((r) => r.integrationId))];
      const seen: string[] = [];
      for (const id of ids) {
        const names = [...config.resources].filter(([, r]) => r.integrationId === id).map(([n]) => n);
        try {
          const res = await call("GET", `/api/v2/integrations/${encodeURIComponent(id)}`);
          const i = asIntegration(res.body);
          if (!i)
            return {
              ok: false,
              detail: `GET /api/v2/integrations/${id}: the answer is not an Apono integration`,
            };
          if (i.status === "Error" || i.status === "Disabled")
            return {
              ok: false,
              detail: `Apono integration ${i.name} (${id}, for ${names.join(", ")}) is ${i.status}: fix it in the Apono app`,
            };
          seen.push(`${i.name} (${i.status})`);
        } catch (err) {
          const detail =
            err instanceof HttpError && err.status === 404
              ? `Apono has no integration ${id} (for ${names.join(", ")}): check integrationId`
              : describe(err);
          return { ok: false, detail };
        }
      }
      return { ok: true, detail: `${config.baseUrl} takes the token; integrations: ${seen.join(", ")}` };
    },
  };
}

function asUser(v: unknown): { id: string; active: boolean } | null {
  if (!v || typeof v !== "object") return null;
  const o = v as { id?: unknown; active?: unknown };
  return typeof o.id === "string" && o.id !== "" ? { id: o.id, active: o.active !== false } : null;
}

function asRequest(v: unknown): AponoRequest | null {
  if (!v || typeof v !== "object") return null;
  const o = v as { request_id?: unknown; friendly_request_id?: unknown; status?: unknown };
  // The id goes into the ledger and into URLs: an id that could not is not taken.
  if (typeof o.request_id !== "string" || !SANE_ID.test(o.request_id) || typeof o.status !== "string")
    return null;
  return {
    id: o.request_id,
    friendly: typeof o.friendly_request_id === "string" ? o.friendly_request_id : "",
    status: o.status,
  };
}

function asIntegration(v: unknown): { name: string; status: string } | null {
  if (!v || typeof v !== "object") return null;
  const o = v as { name?: unknown; status?: unknown };
  return typeof o.name === "string" && typeof o.status === "string"
    ? { name: o.name, status: o.status }
    : null;
}

function asMessage(v: unknown): string {
  return v && typeof v === "object" && typeof (v as { message?: unknown }).message === "string"
    ? (v as { message: string }).message
    : "";
}

/** The HTTP failure (it carries Apono's message), with what to check for a refused token. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof HttpError && err.status === 401)
    return `${err.message} (Apono refused the token: check the API token and that it is not expired)`;
  if (err instanceof HttpError && err.status === 403)
    return `${err.message} (the token may not do this: it needs an admin API token)`;
  return err.message;
}
