import type { IncomingMessage, ServerResponse } from "node:http";
import { DateTime } from "luxon";
import { createFakeShell } from "./shell.js";

/**
 * A strict, stateful fake of the parts of Apono's public API the `apono` target uses, with the shapes
 * of Apono's OpenAPI document (apono-io/apono-sdk-go, api/openapi.json): `GET /api/v2/users/{id or
 * email}` (UserModel), `POST /api/v3/access-requests` (CreateAccessRequest → AccessRequest),
 * `GET /api/v3/access-requests/{id}`, `POST /api/v3/access-requests-bulk/revoke` (→ MessageResponse)
 * and `GET /api/v2/integrations/{id}`. None of these pages (the list endpoints, which do, are not used).
 *
 * A request moves as its integration's access flow says, one step per read of it: PENDING →
 * APPROVED → GRANTED (`auto`), PENDING for ever (`manual`), PENDING → REJECTED (`reject`), or
 * PENDING → APPROVED → FAILED (`fail`). A GRANTED request is EXPIRED once `duration_in_sec` has passed
 * on the fake's clock (`setNow`, the run's clock), counted from when it was granted. A revoke makes it
 * REVOKING, and its next read EXPIRED: Apono's status list has no REVOKED.
 *
 * A refused token is 401 `{"status": "401", "code": "Unauthorized"}`, as Apono's API guide shows.
 * Pinned where Apono's documents are silent (the fake's choice, not a verified fact): other error
 * bodies are `{"message": …}`; a request not granted yet (PENDING, APPROVED) can be revoked, which is
 * how the target withdraws one it gave up waiting for; an unknown user is 404; an unknown integration is 404, an unknown resource or
 * permission of a known one is 400; revoking a request that has already ended, or an unknown id, is
 * refused (400) and counted as unexpected, so a client that depends on it fails its test.
 */
export type FakeAponoUser = { id: string; email: string; active?: boolean };
export type AponoFlow = "auto" | "manual" | "reject" | "fail";
export type FakeAponoIntegration = {
  id: string;
  name: string;
  status?: string;
  resources: string[];
  permissions: string[];
  flow?: AponoFlow;
};
export type FakeAponoRequest = {
  id: string;
  friendly: string;
  userId: string;
  integrationId: string;
  resourceIds: string[];
  permissions: string[];
  justification: string;
  durationSec: number | null;
  status: string;
  grantedAt: DateTime | null;
};

export type FakeApono = {
  url: string;
  /** "METHOD /path" of every request, in order, with the JSON body of a POST after it. */
  calls(): string[];
  /** The requests Apono holds, in the order they were made. */
  requests(): FakeAponoRequest[];
  /** The fake's clock: requests expire against it. */
  setNow(t: DateTime): void;
  /** A request made outside shiftgrant (by the user, or another tool), already GRANTED. */
  addGranted(
    email: string,
    integrationId: string,
    resourceIds: string[],
    permissions: string[],
    durationSec: number,
  ): string;
  /** The ids of the requests GRANTED now (expiry applied). */
  granted(): string[];
  unexpected: string[];
  allow: (...matches: (string | RegExp)[]) => void;
  close(): Promise<void>;
};

const REQUEST_KEYS = [
  "user_id",
  "integration_id",
  "resource_ids",
  "permissions",
  "justification",
  "duration_in_sec",
];

export async function startFakeApono(opts: {
  token: string;
  users: FakeAponoUser[];
  integrations: FakeAponoIntegration[];
  now?: DateTime;
}): Promise<FakeApono> {
  const shell = createFakeShell<never>({});
  const calls: string[] = [];
  const requests: FakeAponoRequest[] = [];
  let now = opts.now ?? DateTime.fromISO("2026-11-22T00:00:00Z", { zone: "utc" });
  let seq = 0;

  /** Expiry on the clock: what any read of a request sees first. */
  const settle = (r: FakeAponoRequest) => {
    if (r.status === "GRANTED" && r.grantedAt && r.durationSec !== null) {
      if (now.toMillis() >= r.grantedAt.toMillis() + r.durationSec * 1000) r.status = "EXPIRED";
    }
  };
  const step = (r: FakeAponoRequest) => {
    const flow = opts.integrations.find((i) => i.id === r.integrationId)?.flow ?? "auto";
    if (r.status === "REVOKING") r.status = "EXPIRED";
    else if (r.status === "PENDING")
      r.status = flow === "manual" ? "PENDING" : flow === "reject" ? "REJECTED" : "APPROVED";
    else if (r.status === "APPROVED") {
      r.status = flow === "fail" ? "FAILED" : "GRANTED";
      if (r.status === "GRANTED") r.grantedAt = now;
    }
  };
  const doc = (r: FakeAponoRequest) => ({
    request_id: r.id,
    friendly_request_id: r.friendly,
    user_id: r.userId,
    status: r.status,
    integration_id: r.integrationId,
    resource_ids: r.resourceIds,
    permissions: r.permissions,
    justification: r.justification,
  });
  const newRequest = (fields: Omit<FakeAponoRequest, "id" | "friendly" | "status" | "grantedAt">) => {
    seq++;
    const r: FakeAponoRequest = {
      id: `req-${String(seq).padStart(4, "0")}`,
      friendly: `AR-${1000 + seq}`,
      status: "PENDING",
      grantedAt: null,
      ...fields,
    };
    requests.push(r);
    return r;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    const rec = shell.record(req);
    const send = (status: number, body: unknown) => {
      const out = JSON.stringify(body);
      shell.send(res, { status, headers: { "content-type": "application/json" }, body: out });
    };
    const error = (status: number, message: string) => send(status, { message });
    const unexpected = (why: string) => {
      shell.unexpected.push(`${rec.method} ${rec.path}: ${why}`);
      error(400, why);
    };
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return unexpected("the body is not JSON");
      }
    }
    calls.push(`${rec.method} ${rec.path}${body === undefined ? "" : ` ${JSON.stringify(body)}`}`);
    // The 401 body Apono's API guide shows.
    if (req.headers.authorization !== `Bearer ${opts.token}`)
      return send(401, { status: "401", code: "Unauthorized" });
    if ([...rec.query.keys()].length > 0) return unexpected("query parameters are not modelled");
    if (rec.method === "POST" && req.headers["content-type"] !== "application/json")
      return unexpected("Content-Type is not application/json");
    const seg = rec.path.split("/").slice(1).map(decodeURIComponent);
    const m = rec.method;

    // GET /api/v2/users/{id or email}
    if (m === "GET" && seg.length === 4 && rec.path.startsWith("/api/v2/users/")) {
      const key = seg[3] ?? "";
      const u = opts.users.find((x) => x.id === key || x.email.toLowerCase() === key.toLowerCase());
      if (!u) return error(404, "User not found");
      const [first = "", last = ""] = u.email.split("@");
      return send(200, {
        id: u.id,
        email: u.email,
        first_name: first,
        last_name: last,
        active: u.active !== false,
      });
    }
    // GET /api/v2/integrations/{id}
    if (m === "GET" && seg.length === 4 && rec.path.startsWith("/api/v2/integrations/")) {
      const i = opts.integrations.find((x) => x.id === seg[3]);
      if (!i) return error(404, `Integration ${seg[3]} not found`);
      return send(200, {
        id: i.id,
        name: i.name,
        type: "postgresql",
        status: i.status ?? "Active",
        metadata: {},
        connected_resource_types: ["postgresql-database"],
      });
    }
    // POST /api/v3/access-requests
    if (m === "POST" && rec.path === "/api/v3/access-requests") {
      const b = body as Record<string, unknown> | undefined;
      if (!b || typeof b !== "object") return unexpected("no body");
      const extra = Object.keys(b).filter((k) => !REQUEST_KEYS.includes(k));
      if (extra.length > 0) return unexpected(`keys not in CreateAccessRequest: ${extra.join(", ")}`);
      const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
      if (
        typeof b.user_id !== "string" ||
        typeof b.integration_id !== "string" ||
        !strings(b.resource_ids) ||
        !strings(b.permissions) ||
        typeof b.justification !== "string" ||
        !(
          b.duration_in_sec === undefined ||
          (Number.isInteger(b.duration_in_sec) && (b.duration_in_sec as number) > 0)
        )
      )
        return unexpected("a CreateAccessRequest field is missing or of the wrong type");
      const user = opts.users.find((x) => x.id === b.user_id);
      if (!user) return error(404, `User ${b.user_id} not found`);
      const i = opts.integrations.find((x) => x.id === b.integration_id);
      if (!i) return error(404, `Integration ${b.integration_id} not found`);
      const resourceIds = b.resource_ids;
      const permissions = b.permissions;
      const badRes = resourceIds.filter((r) => !i.resources.includes(r));
      if (badRes.length > 0)
        return error(400, `Resources not found in integration ${i.name}: ${badRes.join(", ")}`);
      const badPerm = permissions.filter((p) => !i.permissions.includes(p));
      if (badPerm.length > 0)
        return error(400, `Permissions not available in integration ${i.name}: ${badPerm.join(", ")}`);
      const r = newRequest({
        userId: user.id,
        integrationId: i.id,
        resourceIds,
        permissions,
        justification: b.justification,
        durationSec: (b.duration_in_sec as number | undefined) ?? null,
      });
      return send(200, doc(r));
    }
    // GET /api/v3/access-requests/{id}
    if (m === "GET" && seg.length === 4 && rec.path.startsWith("/api/v3/access-requests/")) {
      const r = requests.find((x) => x.id === seg[3]);
      if (!r) return error(404, `Access request ${seg[3]} not found`);
      settle(r);
      step(r);
      return send(200, doc(r));
    }
    // POST /api/v3/access-requests-bulk/revoke
    if (m === "POST" && rec.path === "/api/v3/access-requests-bulk/revoke") {
      const b = body as { request_ids?: unknown } | undefined;
      const ids = b?.request_ids;
      if (!b || Object.keys(b).length !== 1 || !Array.isArray(ids) || ids.length === 0)
        return unexpected("the body is not {request_ids: [...]}");
      for (const id of ids) {
        const r = requests.find((x) => x.id === id);
        if (r) settle(r);
        if (!r || !["PENDING", "APPROVED", "GRANTED"].includes(r.status))
          return unexpected(
            `request ${String(id)} is ${r ? r.status : "unknown"}: revoking it is not modelled`,
          );
      }
      for (const id of ids) {
        const r = requests.find((x) => x.id === id);
        if (r) r.status = "REVOKING";
      }
      return send(200, { message: `Revoking ${ids.length} access request(s)` });
    }
    return unexpected("route not modelled");
  };

  const url = await shell.listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });

  return {
    url,
    calls: () => [...calls],
    requests: () => requests.map((r) => (settle(r), { ...r })),
    setNow: (t) => {
      now = t;
    },
    addGranted: (email, integrationId, resourceIds, permissions, durationSec) => {
      const user = opts.users.find((u) => u.email === email);
      if (!user) throw new Error(`fake apono: no user ${email}`);
      const r = newRequest({
        userId: user.id,
        integrationId,
        resourceIds,
        permissions,
        justification: "asked in Slack",
        durationSec,
      });
      r.status = "GRANTED";
      r.grantedAt = now;
      return r.id;
    },
    granted: () => requests.filter((r) => (settle(r), r.status === "GRANTED")).map((r) => r.id),
    unexpected: shell.unexpected,
    allow: shell.allow,
    close: shell.close,
  };
}
