import type { IncomingMessage, ServerResponse } from "node:http";
import { createFakeShell, type RecordedRequest } from "./shell.js";

/**
 * A strict, stateful fake of the parts of Okta's Management API the `okta` target uses: users (by
 * id, login or a `search` on `profile.email`), groups (`q` is a prefix match that does not page, as
 * Okta's is), group memberships (PUT/DELETE, OKTA_GROUP only), and list pages of `pageSize` with one
 * `link` header per relation (absolute URLs, `after` a cursor). Every answer carries Okta's
 * `X-Rate-Limit-*` headers; errors carry Okta's error body. A request it does not model (a route,
 * a query parameter, a missing `Accept: application/json`) fails the test at close().
 */
export type FakeOktaUser = { id: string; login: string; email: string };
export type FakeOktaGroup = { id: string; name: string; type: "OKTA_GROUP" | "APP_GROUP" | "BUILT_IN" };

export type OktaFault = { kind: "rateLimit" };

export type FakeOkta = {
  url: string;
  requests: RecordedRequest[];
  /** "METHOD /path?query" of every request, in order (the query decoded). */
  calls(): string[];
  /** The logins in a group now. */
  members(groupId: string): string[];
  /** Answers the next request whose path matches with a 429 E0000047 (X-Rate-Limit-Reset now + 3 s). */
  fault: (path: string | RegExp, ...faults: OktaFault[]) => void;
  unexpected: string[];
  allow: (...matches: (string | RegExp)[]) => void;
  close(): Promise<void>;
};

export async function startFakeOkta(opts: {
  token: string;
  users: FakeOktaUser[];
  groups: FakeOktaGroup[];
  /** Group id -> member user ids. */
  memberships?: Record<string, string[]>;
  /** Items per page at most, whatever `limit` asks (so that paging shows with few items). */
  pageSize?: number;
}): Promise<FakeOkta> {
  const shell = createFakeShell<OktaFault>({});
  const members = new Map<string, Set<string>>(
    opts.groups.map((g) => [g.id, new Set(opts.memberships?.[g.id] ?? [])]),
  );
  const pageSize = opts.pageSize ?? 200;
  let remaining = 600;
  let origin = "";

  const userDoc = (u: FakeOktaUser) => ({
    id: u.id,
    status: "ACTIVE",
    profile: { login: u.login, email: u.email, firstName: u.login.split("@")[0], lastName: "Example" },
    _links: { self: { href: `${origin}/api/v1/users/${u.id}` } },
  });
  const groupDoc = (g: FakeOktaGroup) => ({
    id: g.id,
    type: g.type,
    objectClass: ["okta:user_group"],
    profile: { name: g.name, description: null },
    _links: { self: { href: `${origin}/api/v1/groups/${g.id}` } },
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const rec = shell.record(req);
    const now = Math.floor(Date.now() / 1000);
    remaining = Math.max(0, remaining - 1);
    const rateHeaders = {
      "x-rate-limit-limit": "600",
      "x-rate-limit-remaining": String(remaining),
      "x-rate-limit-reset": String(now + 60),
    };
    const send = (status: number, body: unknown, extra: Record<string, string | string[]> = {}) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, {
        ...rateHeaders,
        ...(text ? { "content-type": "application/json" } : {}),
        "content-length": String(Buffer.byteLength(text)),
        ...extra,
      });
      res.end(text);
    };
    const error = (status: number, code: string, summary: string) =>
      send(status, {
        errorCode: code,
        errorSummary: summary,
        errorLink: code,
        errorId: "oaeFake",
        errorCauses: [],
      });
    const unexpected = (why: string) => {
      shell.unexpected.push(`${rec.method} ${rec.path}?${rec.query.toString()}: ${why}`);
      error(400, "E0000001", `Api validation failed: ${why}`);
    };
    const onlyParams = (...names: string[]) => {
      const extra = [...rec.query.keys()].filter((k) => !names.includes(k));
      if (extra.length > 0) {
        unexpected(`parameter(s) not modelled: ${extra.join(", ")}`);
        return false;
      }
      return true;
    };
    const page = <T>(items: T[], doc: (t: T) => unknown) => {
      const limit = Math.min(Number(rec.query.get("limit") ?? pageSize), pageSize);
      const from = Number(rec.query.get("after") ?? "0");
      const self = new URL(`${origin}${rec.path}`);
      rec.query.forEach((v, k) => self.searchParams.set(k, v));
      const links = [`<${self.toString()}>; rel="self"`];
      if (from + limit < items.length) {
        const next = new URL(self);
        next.searchParams.set("after", String(from + limit));
        links.push(`<${next.toString()}>; rel="next"`);
      }
      send(200, items.slice(from, from + limit).map(doc), { link: links });
    };

    if (req.headers.authorization !== `SSWS ${opts.token}`)
      return error(401, "E0000011", "Invalid token provided");
    if (req.headers.accept !== "application/json") return unexpected("Accept is not application/json");
    const fault = shell.takeFault(rec.path);
    if (fault?.kind === "rateLimit") {
      res.writeHead(429, {
        "content-type": "application/json",
        "x-rate-limit-limit": "600",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": String(now + 3),
      });
      return res.end(
        JSON.stringify({
          errorCode: "E0000047",
          errorSummary: "API call exceeded rate limit due to too many requests.",
          errorLink: "E0000047",
          errorId: "oaeFake",
          errorCauses: [],
        }),
      );
    }

    const user = (idOrLogin: string) =>
      opts.users.find((u) => u.id === idOrLogin || u.login.toLowerCase() === idOrLogin.toLowerCase());
    const group = (id: string) => opts.groups.find((g) => g.id === id);
    const seg = rec.path.split("/").slice(1).map(decodeURIComponent);
    const m = rec.method;

    // /api/v1/users
    if (m === "GET" && rec.path === "/api/v1/users") {
      if (!onlyParams("search", "limit", "after")) return;
      const q = /^profile\.email eq "([^"]*)"$/.exec(rec.query.get("search") ?? "");
      if (!q) return unexpected('only search=profile.email eq "…" is modelled');
      const email = (q[1] ?? "").toLowerCase();
      return page(
        opts.users.filter((u) => u.email.toLowerCase() === email),
        userDoc,
      );
    }
    if (seg.length === 4 && seg[2] === "users" && m === "GET") {
      if (!onlyParams()) return;
      const u = user(seg[3] ?? "");
      if (!u) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (User)`);
      return send(200, userDoc(u));
    }
    if (seg.length === 5 && seg[2] === "users" && seg[4] === "groups" && m === "GET") {
      if (!onlyParams("limit", "after")) return;
      const u = opts.users.find((x) => x.id === seg[3]);
      if (!u) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (User)`);
      return page(
        opts.groups.filter((g) => members.get(g.id)?.has(u.id)),
        groupDoc,
      );
    }
    // /api/v1/groups
    if (m === "GET" && rec.path === "/api/v1/groups") {
      if (!onlyParams("q", "limit")) return;
      const q = rec.query.get("q");
      // Okta: a query is a prefix match on the name and is not paged.
      if (q === null)
        return send(200, opts.groups.slice(0, Number(rec.query.get("limit") ?? 200)).map(groupDoc));
      if (rec.query.has("limit")) return unexpected("q with limit is not modelled");
      return send(
        200,
        opts.groups.filter((g) => g.name.toLowerCase().startsWith(q.toLowerCase())).map(groupDoc),
      );
    }
    if (seg.length === 5 && seg[2] === "groups" && seg[4] === "users" && m === "GET") {
      if (!onlyParams("limit", "after")) return;
      const g = group(seg[3] ?? "");
      if (!g) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (UserGroup)`);
      const ids = members.get(g.id) ?? new Set<string>();
      return page(
        opts.users.filter((u) => ids.has(u.id)),
        userDoc,
      );
    }
    if (seg.length === 6 && seg[2] === "groups" && seg[4] === "users" && (m === "PUT" || m === "DELETE")) {
      if (!onlyParams()) return;
      const g = group(seg[3] ?? "");
      const u = opts.users.find((x) => x.id === seg[5]);
      if (!g || !u) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (UserGroup)`);
      if (g.type !== "OKTA_GROUP")
        return error(403, "E0000006", "You do not have permission to perform the requested action");
      const set = members.get(g.id) ?? new Set<string>();
      members.set(g.id, set);
      if (m === "PUT") {
        set.add(u.id);
        return send(204, undefined);
      }
      if (!set.delete(u.id)) return error(404, "E0000007", `Not found: Resource not found: ${u.id} (User)`);
      return send(204, undefined);
    }
    return unexpected("no such route in the fake");
  };

  origin = await shell.listen(onRequest);
  return {
    url: origin,
    requests: shell.requests,
    calls: () =>
      shell.requests.map((r) => {
        const q = [...r.query.entries()].map(([k, v]) => `${k}=${v}`).join("&");
        return `${r.method} ${r.path}${q ? `?${q}` : ""}`;
      }),
    members: (groupId) => opts.users.filter((u) => members.get(groupId)?.has(u.id)).map((u) => u.login),
    fault: shell.fault,
    unexpected: shell.unexpected,
    allow: shell.allow,
    close: shell.close,
  };
}
