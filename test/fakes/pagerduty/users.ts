/** GET /users and /users/{id}. */
import { type Ctx, type Json, cmp, notFound } from "./common.js";
import type { PdContext } from "./context.js";

export function getUser(pd: PdContext, ctx: Ctx, id: string): Json {
  const { checkParams, enumArray, fullUser, state } = pd;
  checkParams(ctx, { "include[]": "array" });
  enumArray(ctx.query, "include[]", [
    "contact_methods",
    "notification_rules",
    "teams",
    "subdomains",
    "calendar_urls",
  ]);
  const u = state.users.find((x) => x.id === id);
  if (!u) throw notFound();
  return { user: fullUser(u, true) };
}

export function listUsers(pd: PdContext, ctx: Ctx): Json {
  const { checkParams, enumArray, fullUser, notModelled, paginate, paging, scalar, state } = pd;
  const q = ctx.query;
  checkParams(ctx, {
    query: "scalar",
    "team_ids[]": "array",
    "include[]": "array",
    limit: "scalar",
    offset: "scalar",
    total: "scalar",
  });
  enumArray(q, "include[]", ["contact_methods", "notification_rules", "teams", "subdomains"]);
  if (q.has("team_ids[]")) notModelled(ctx, "team_ids[]");
  const page = paging(q);
  // The spec says `query` matches names (until 2020: "names or email addresses"); the fake matches both.
  const needle = (scalar(q, "query") ?? "").toLowerCase();
  const users = state.users
    .filter((u) => u.name.toLowerCase().includes(needle) || u.email.toLowerCase().includes(needle))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.id, b.id));
  const { page: rows, meta } = paginate(users, page);
  return { users: rows.map((u) => fullUser(u, true)), ...meta };
}
