/**
 * Contract test: every kind of response the fake PagerDuty (test/fakes/pagerduty.ts) sends is checked
 * against PagerDuty's official OpenAPI 3.0 spec (github.com/PagerDuty/api-schema,
 * reference/REST/openapiv3.json) with ajv.
 *
 * The spec has no licence, so it is never copied into this repository: it is read at run time from
 * `../shared/specs/openapiv3.json` next to the repo root, or from the path in the environment variable
 * SHIFTGRANT_OPENAPI_SPEC when set (used to point at a missing file to check the skip path). When the file
 * is absent every test here is skipped with a message; nothing fails.
 *
 * Only the response schemas used here are converted and compiled, lazily: an OpenAPI 3.0 schema is not
 * plain JSON Schema, so `nullable: true` becomes a type union with "null", `$ref`s to anywhere in the
 * document are copied into `definitions` (converted the same way), and OpenAPI-only keywords (example,
 * discriminator, readOnly, writeOnly, xml, externalDocs, deprecated, x-*) are dropped.
 *
 * Where the official schema disagrees with PagerDuty's documented behaviour
 * (its API reference and changelog), the fake follows the documented behaviour and the test
 * asserts exactly where the spec rejects it:
 *  - include[]=users / schedules / escalation_policies on GET /oncalls embed the full resource (type
 *    "user", "schedule", "escalation_policy"), while the spec's Oncall still declares references whose
 *    `type` enums ("user_reference", …) reject them. The embedded objects are validated against the full
 *    User / Schedule / EscalationPolicy schemas instead, and the rest of the body with a reference in
 *    their place.
 *  - Direct user escalation targets are on-calls with `schedule: null` (inferred from the
 *    `schedule_ids[]` null rule), and permanent on-calls have `start`/`end: null`. The spec describes null
 *    for start/end in prose only ("If `null`, …") and declares neither them nor `schedule` nullable.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import {
  PD_ACCEPT,
  startFakePagerDuty,
  type FakePagerDuty,
  type FakePagerDutyOptions,
} from "./fakes/pagerduty.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** SHIFTGRANT_OPENAPI_SPEC overrides the spec's location (e.g. a missing file, to check the skip path). */
const SPEC_FILE =
  process.env.SHIFTGRANT_OPENAPI_SPEC ?? path.join(ROOT, "..", "shared", "specs", "openapiv3.json");
const SKIP: string | false = existsSync(SPEC_FILE)
  ? false
  : `PagerDuty OpenAPI spec absent at ${SPEC_FILE} (it is not vendored: no licence); contract test skipped`;

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = addFormatsModule.default;

// ------------------------------------------------------------------ OpenAPI 3.0 -> JSON Schema (draft-07)

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** OpenAPI-only or annotation keywords that ajv must not see (or that mean nothing to a validator). */
const DROPPED = new Set([
  "example",
  "examples",
  "discriminator",
  "readOnly",
  "writeOnly",
  "xml",
  "externalDocs",
  "deprecated",
  "nullable", // handled below
]);

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported, got ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(node) && !Array.isArray(node)) throw new Error(`$ref ${ref} does not resolve`);
    node = (node as JsonObject)[key];
  }
  if (node === undefined) throw new Error(`$ref ${ref} does not resolve`);
  return node;
}

/** The spec's response schemas, converted and compiled on first use. */
class SpecSchemas {
  private readonly ajv: Ajv;
  /** converted schemas by definition name; shared by every compiled validator */
  private readonly definitions: JsonObject = {};
  private readonly nameOf = new Map<string, string>();
  private readonly names = new Set<string>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: unknown) {
    this.ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
    addFormats(this.ajv);
    // ajv-formats' "url" rejects private hosts such as 127.0.0.1 (the fake's `self` links): any absolute
    // http(s) URL passes here.
    this.ajv.addFormat("url", (s: string) => {
      try {
        return /^https?:$/.test(new URL(s).protocol);
      } catch {
        return false;
      }
    });
    // PagerDuty-specific formats: an IANA (tzinfo) zone name, and an ActiveSupport zone, which may be an
    // IANA name or a Rails name such as "Eastern Time (US & Canada)".
    const ianaZone = (s: string): boolean => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: s });
        return true;
      } catch {
        return false;
      }
    };
    this.ajv.addFormat("tzinfo", ianaZone);
    this.ajv.addFormat(
      "activesupport-time-zone",
      (s: string) => ianaZone(s) || /^[A-Z][\w .&()'-]*$/.test(s),
    );
    this.ajv.addFormat("partial-time", /^\d\d:\d\d:\d\d(?:\.\d+)?$/);
  }

  /** Validator for the schema at `pointer` (e.g. "#/components/schemas/User"). */
  validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (v === undefined) {
      const name = this.define(pointer);
      v = this.ajv.compile({
        $id: `pd-openapi-${this.compiled.size}`,
        definitions: { ...this.definitions },
        $ref: `#/definitions/${name}`,
      });
      this.compiled.set(pointer, v);
    }
    return v;
  }

  /** Validator for `GET path`'s response with `status` (application/json), following response $refs. */
  response(apiPath: string, status: string): ValidateFunction {
    const paths = resolvePointer(this.doc, "#/paths") as JsonObject;
    const op = (paths[apiPath] as JsonObject | undefined)?.get;
    if (!isObject(op)) throw new Error(`the spec has no GET ${apiPath}`);
    const responses = op.responses as JsonObject;
    if (responses[status] === undefined) throw new Error(`the spec declares no ${status} for GET ${apiPath}`);
    const esc = apiPath.replace(/~/g, "~0").replace(/\//g, "~1");
    let pointer = `#/paths/${esc}/get/responses/${status}`;
    let response: unknown = responses[status];
    while (isObject(response) && typeof response.$ref === "string") {
      pointer = response.$ref;
      response = resolvePointer(this.doc, pointer);
    }
    return this.validator(`${pointer}/content/application~1json/schema`);
  }

  private define(pointer: string): string {
    const known = this.nameOf.get(pointer);
    if (known !== undefined) return known;
    let name = pointer.slice(2).replace(/[^A-Za-z0-9_.-]+/g, "_");
    while (this.names.has(name)) name += "_";
    // registered before converting: a recursive schema refers to itself
    this.nameOf.set(pointer, name);
    this.names.add(name);
    this.definitions[name] = this.convert(resolvePointer(this.doc, pointer));
    return name;
  }

  /** One OpenAPI 3.0 Schema Object -> draft-07 JSON Schema (schema-aware: only subschema keywords recurse). */
  private convert(node: unknown): unknown {
    if (typeof node === "boolean") return node;
    if (!isObject(node)) throw new Error(`not a schema: ${JSON.stringify(node)}`);
    // OpenAPI 3.0: siblings of $ref are ignored.
    if (typeof node.$ref === "string") return { $ref: `#/definitions/${this.define(node.$ref)}` };
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (DROPPED.has(key) || key.startsWith("x-")) continue;
      if (key === "properties" && isObject(value)) {
        out[key] = Object.fromEntries(Object.entries(value).map(([p, s]) => [p, this.convert(s)]));
      } else if (
        (key === "items" || key === "not" || key === "additionalProperties") &&
        value !== undefined
      ) {
        out[key] = this.convert(value);
      } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
        out[key] = value.map((s) => this.convert(s));
      } else {
        out[key] = value;
      }
    }
    if (node.nullable !== true) return out;
    if (typeof out.type === "string") {
      out.type = [out.type, "null"];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
      return out;
    }
    return { anyOf: [out, { type: "null" }] };
  }
}

// ------------------------------------------------------------------ assertions

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `  ${e.instancePath || "(root)"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`)
    .join("\n");
}

function assertValid(validate: ValidateFunction, body: unknown, what: string): void {
  if (!validate(body)) assert.fail(`${what} does not match the spec:\n${describeErrors(validate.errors)}`);
}

/**
 * A documented disagreement: the spec rejects `body`, and only at (or below) the given instance paths,
 * each of which has at least one error.
 */
function assertRejectedOnlyAt(
  validate: ValidateFunction,
  body: unknown,
  paths: string[],
  what: string,
): void {
  assert.equal(validate(body), false, `${what}: expected the spec to reject it at ${paths.join(", ")}`);
  const errors = validate.errors ?? [];
  const within = (e: ErrorObject, p: string): boolean =>
    e.instancePath === p || e.instancePath.startsWith(`${p}/`);
  const stray = errors.filter((e) => !paths.some((p) => within(e, p)));
  assert.deepEqual(stray, [], `${what}: unexpected errors elsewhere:\n${describeErrors(stray)}`);
  for (const p of paths) {
    assert.ok(
      errors.some((e) => within(e, p)),
      `${what}: expected an error at ${p}, got:\n${describeErrors(errors)}`,
    );
  }
}

/** The reference a full embedded object replaces (PD-docs 13-Includes). */
function referenceOf(full: JsonObject, type: string): JsonObject {
  return { id: full.id, type, summary: full.summary, self: full.self, html_url: full.html_url };
}

// ------------------------------------------------------------------ fake data

const TOKEN = "u+contract-test-token";
const HEADERS = { Accept: PD_ACCEPT, Authorization: `Token token=${TOKEN}` };
const NOW = Date.parse("2026-11-22T10:00:00Z");
const WINDOW = "since=2026-11-21T00:00:00Z&until=2026-11-23T00:00:00Z";

const OPTIONS: FakePagerDutyOptions = {
  token: TOKEN,
  now: () => NOW,
  users: [
    {
      id: "PXPGF42",
      name: "Earline Greenholt",
      email: "earline.greenholt@example.com",
      timeZone: "America/Lima",
      role: "admin",
      jobTitle: "Director of Engineering",
    },
    { id: "PT23IWX", name: "Tim Wright", email: "tim.wright@example.com" },
    {
      id: "PAM4FGS",
      name: "Ana Moreno",
      email: "ana.moreno@example.org",
      timeZone: "Europe/Madrid",
      role: "limited_user",
    },
  ],
  schedules: [
    {
      id: "PI7DH85",
      name: "Daily Engineering Rotation",
      timeZone: "America/New_York",
      escalationPolicyIds: ["PT20YPA"],
    },
    { id: "PDB3V8Q", name: "Database Primary", timeZone: "Europe/Berlin", escalationPolicyIds: ["PT20YPA"] },
    { id: "PRLS5HD", name: "Release Shadow", escalationPolicyIds: [] },
  ],
  escalationPolicies: [{ id: "PT20YPA", name: "Engineering Escalation Policy" }],
  oncalls: [
    {
      userId: "PT23IWX",
      scheduleId: "PI7DH85",
      escalationPolicyId: "PT20YPA",
      level: 1,
      start: "2026-11-21T14:00:00Z",
      end: "2026-11-22T14:00:00Z",
    },
    {
      userId: "PXPGF42",
      scheduleId: "PI7DH85",
      escalationPolicyId: "PT20YPA",
      level: 1,
      start: "2026-11-22T14:00:00Z",
      end: "2026-11-23T14:00:00Z",
    },
    {
      userId: "PAM4FGS",
      scheduleId: "PDB3V8Q",
      escalationPolicyId: "PT20YPA",
      level: 2,
      start: "2026-11-16T08:00:00Z",
      end: "2026-11-23T08:00:00Z",
      scheduleType: "schedule_v3_reference",
    },
    // a direct user escalation target: permanent, no schedule (documented: schedule, start, end are null)
    { userId: "PXPGF42", scheduleId: null, escalationPolicyId: "PT20YPA", level: 3, start: null, end: null },
  ],
  finalEntries: [
    { scheduleId: "PRLS5HD", userId: "PT23IWX", start: "2026-11-21T00:00:00Z", end: "2026-11-22T12:00:00Z" },
    { scheduleId: "PRLS5HD", userId: "PAM4FGS", start: "2026-11-22T12:00:00Z", end: "2026-11-24T00:00:00Z" },
  ],
  services: [
    { id: "PIJ90N7", name: "Checkout API", escalationPolicyId: "PT20YPA" },
    { id: "PSTOR42", name: "Storage" },
  ],
  incidents: [
    {
      id: "PT4KHLK",
      number: 1234,
      title: "Checkout latency above SLO",
      serviceId: "PIJ90N7",
      status: "acknowledged",
      acknowledgements: [{ at: "2026-11-22T09:05:00Z", by: { type: "user", userId: "PT23IWX" } }],
      createdAt: "2026-11-22T09:01:00Z",
    },
    {
      id: "PQ7DSK2",
      number: 1235,
      title: "Disk almost full",
      serviceId: "PSTOR42",
      status: "acknowledged",
      // auto-acknowledged by an integration: the acknowledger is a service
      acknowledgements: [{ at: "2026-11-22T09:30:00Z", by: { type: "service", serviceId: "PSTOR42" } }],
      createdAt: "2026-11-22T09:29:00Z",
      urgency: "low",
    },
    {
      id: "PB9ZL1M",
      number: 1236,
      title: "Payment webhook errors",
      serviceId: "PIJ90N7",
      status: "triggered",
      acknowledgements: [],
      createdAt: "2026-11-22T09:45:00Z",
    },
    {
      id: "PZ0RES1",
      number: 1230,
      title: "Cache eviction storm",
      serviceId: "PIJ90N7",
      status: "resolved",
      acknowledgements: [{ at: "2026-11-21T22:00:00Z", by: { type: "user", userId: "PXPGF42" } }],
      createdAt: "2026-11-21T21:50:00Z",
      incidentKey: "cache-eviction/eu-west-1",
    },
    // no createdAt and no acknowledgement: the fake must still render created_at (and a generated key)
    {
      id: "PNOTIME",
      number: 1237,
      title: "Synthetic check failing",
      serviceId: "PIJ90N7",
      status: "triggered",
      acknowledgements: [],
    },
  ],
};

// ------------------------------------------------------------------ tests

describe("the fake PagerDuty matches PagerDuty's OpenAPI spec", { skip: SKIP }, () => {
  let spec: SpecSchemas;
  let fake: FakePagerDuty;

  before(async () => {
    spec = new SpecSchemas(JSON.parse(readFileSync(SPEC_FILE, "utf8")) as unknown);
    fake = await startFakePagerDuty(OPTIONS);
  });
  after(async () => {
    await fake.close();
  });

  async function get(
    pathAndQuery: string,
    headers: Record<string, string> = HEADERS,
  ): Promise<{ status: number; body: JsonObject }> {
    const res = await fetch(fake.url + pathAndQuery, { headers });
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, pathAndQuery);
    return { status: res.status, body: (await res.json()) as JsonObject };
  }
  async function ok(pathAndQuery: string): Promise<JsonObject> {
    const r = await get(pathAndQuery);
    assert.equal(r.status, 200, `${pathAndQuery}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(fake.unexpected, [], pathAndQuery);
    return r.body;
  }
  const list = (body: JsonObject, key: string): JsonObject[] => {
    const items = body[key];
    assert.ok(Array.isArray(items), `${key} is an array`);
    assert.ok(items.length > 0, `${key} is not empty (an empty list would prove nothing)`);
    return items as JsonObject[];
  };

  it("the converted schemas are not vacuous: nullable, $ref, required, enum and formats all bite", () => {
    const validate = spec.response("/oncalls", "200");
    const ref = { id: "PT23IWX", type: "user_reference", summary: "Tim Wright" };
    const entry = { user: ref, escalation_level: 1, start: "2026-11-22T09:00:00-05:00" };
    const page = { oncalls: [entry], limit: 25, offset: 0, more: false, total: null };
    assertValid(validate, page, "a minimal page (total: null is nullable)");
    for (const [what, bad] of [
      ["no oncalls", { ...page, oncalls: undefined }],
      ["total as a string", { ...page, total: "1" }],
      ["escalation_level as a string", { ...page, oncalls: [{ ...entry, escalation_level: "1" }] }],
      ["start not a date-time", { ...page, oncalls: [{ ...entry, start: "2026-11-22 9am" }] }],
      ["a reference without id", { ...page, oncalls: [{ ...entry, user: { type: "user_reference" } }] }],
      ["a reference of the wrong type", { ...page, oncalls: [{ ...entry, user: { ...ref, type: "team" } }] }],
    ] as const) {
      assert.equal(validate(JSON.parse(JSON.stringify(bad))), false, what);
    }
    const user = spec.validator("#/components/schemas/User");
    const tim = { type: "user", name: "Tim Wright", email: "tim.wright@example.com", time_zone: "UTC" };
    assertValid(user, tim, "a minimal user");
    assert.equal(user({ ...tim, email: "not an email" }), false, "email format");
    assert.equal(user({ ...tim, time_zone: "Mars/Olympus_Mons" }), false, "tzinfo format");
    assert.equal(user({ ...tim, role: "superuser" }), false, "role enum");
  });

  describe("GET /oncalls", () => {
    const SCHEDULES = "schedule_ids[]=PI7DH85&schedule_ids[]=PDB3V8Q";

    it("without includes: references, schedule_reference and schedule_v3_reference", async () => {
      const validate = spec.response("/oncalls", "200");
      for (const zone of ["", "&time_zone=UTC", "&time_zone=Asia/Kolkata"]) {
        const body = await ok(`/oncalls?${SCHEDULES}&${WINDOW}${zone}&limit=100&total=true`);
        assertValid(validate, body, `GET /oncalls${zone}`);
        const types = list(body, "oncalls").map((o) => (o.schedule as JsonObject).type);
        assert.deepEqual([...new Set(types)].sort(), ["schedule_reference", "schedule_v3_reference"]);
      }
      // a page with more: true, and total null (total not requested)
      assertValid(validate, await ok(`/oncalls?${SCHEDULES}&${WINDOW}&limit=1`), "GET /oncalls page 1");
      // no since/until: defaults to now
      assertValid(validate, await ok(`/oncalls?${SCHEDULES}&earliest=true`), "GET /oncalls (now, earliest)");
    });

    it("a direct user target (schedule null) and a permanent on-call (start, end null): spec not nullable", async () => {
      // `start`/`end` are null for permanent on-calls (the spec's own Oncall descriptions,
      // "If `null`, …"; changelog 2020-02-26), and `schedule` is null for direct user escalation targets
      // (inferred there from the `schedule_ids[]` null rule). Yet the spec's Oncall declares `schedule` as
      // oneOf two references and `start`/`end` as date-time strings, none of them nullable.
      // The fake keeps the documented nulls; the spec rejects that entry at exactly these three fields.
      const body = await ok(`/oncalls?user_ids[]=PXPGF42&${WINDOW}&time_zone=UTC`);
      const oncalls = list(body, "oncalls");
      const i = oncalls.findIndex((o) => o.schedule === null);
      assert.ok(i >= 0, "the direct-target entry is listed");
      assert.equal(oncalls[i]?.start, null);
      assert.equal(oncalls[i]?.end, null);
      assertRejectedOnlyAt(
        spec.response("/oncalls", "200"),
        body,
        [`/oncalls/${i}/schedule`, `/oncalls/${i}/start`, `/oncalls/${i}/end`],
        "GET /oncalls with a permanent direct-target entry",
      );
    });

    for (const [include, field, fullType, refType, schemaName] of [
      ["users", "user", "user", "user_reference", "User"],
      ["schedules", "schedule", "schedule", "schedule_reference", "Schedule"],
      [
        "escalation_policies",
        "escalation_policy",
        "escalation_policy",
        "escalation_policy_reference",
        "EscalationPolicy",
      ],
    ] as const) {
      it(`include[]=${include}: the spec still declares a reference; the full ${schemaName} matches ${schemaName}`, async () => {
        // Documented (PagerDuty docs, Includes): an include replaces the reference with the full
        // resource, so `type` becomes the resource's own type and, for users, `email` is present (shiftgrant
        // reads it). The spec's Oncall keeps the reference schema (UserReference, ScheduleReference |
        // V3ScheduleReference, EscalationPolicyReference). Those set no additionalProperties: false, so the
        // extra fields alone would pass; it is their `type` enum (["user_reference"], …) that rejects the
        // embedded object, and for a user the spec's own User schema accepts it.
        const body = await ok(`/oncalls?${SCHEDULES}&${WINDOW}&include[]=${include}`);
        const oncalls = list(body, "oncalls");
        const embedded = oncalls.map((o) => o[field] as JsonObject);
        assert.ok(embedded.every((e) => e.type === fullType));
        if (include === "users") assert.ok(embedded.every((u) => typeof u.email === "string"));

        assertRejectedOnlyAt(
          spec.response("/oncalls", "200"),
          body,
          oncalls.map((_, n) => `/oncalls/${n}/${field}`),
          `GET /oncalls?include[]=${include}`,
        );
        const full = spec.validator(`#/components/schemas/${schemaName}`);
        for (const e of embedded) assertValid(full, e, `embedded ${fullType} ${String(e.id)}`);

        // With each full object replaced by the reference it stands for, the body matches the spec: the
        // include is the only disagreement.
        const asReferences = {
          ...body,
          oncalls: oncalls.map((o) => {
            const e = o[field] as JsonObject;
            const type =
              field === "schedule"
                ? e.id === "PDB3V8Q"
                  ? "schedule_v3_reference"
                  : "schedule_reference"
                : refType;
            return { ...o, [field]: referenceOf(e, type) };
          }),
        };
        assertValid(
          spec.response("/oncalls", "200"),
          asReferences,
          `GET /oncalls?include[]=${include}, as references`,
        );
      });
    }

    it("omitEmailInInclude (a deliberate fake mode): the spec's User requires email", async () => {
      // The fake can embed a user without `email` to force the client's GET /users/{id} fallback. That
      // is outside the spec (User.required includes email) by design; pinned here so it stays the only gap.
      const quiet = await startFakePagerDuty({
        ...OPTIONS,
        users: OPTIONS.users?.map((u) => (u.id === "PT23IWX" ? { ...u, omitEmailInInclude: true } : u)),
      });
      try {
        const res = await fetch(`${quiet.url}/oncalls?schedule_ids[]=PI7DH85&${WINDOW}&include[]=users`, {
          headers: HEADERS,
        });
        const body = (await res.json()) as JsonObject;
        const users = list(body, "oncalls").map((o) => o.user as JsonObject);
        const tim = users.find((u) => u.id === "PT23IWX");
        assert.ok(tim && !("email" in tim));
        const validate = spec.validator("#/components/schemas/User");
        assert.equal(validate(tim), false);
        assert.deepEqual(
          validate.errors?.map((e) => [e.keyword, e.params]),
          [["required", { missingProperty: "email" }]],
        );
        assert.deepEqual(quiet.unexpected, []);
      } finally {
        await quiet.close();
      }
    });
  });

  describe("users", () => {
    it("GET /users/{id}", async () => {
      const validate = spec.response("/users/{id}", "200");
      for (const id of ["PXPGF42", "PT23IWX", "PAM4FGS"]) {
        assertValid(validate, await ok(`/users/${id}`), `GET /users/${id}`);
      }
      assertValid(validate, await ok(`/users/PXPGF42?include[]=contact_methods`), "GET /users/{id} include");
    });

    it("GET /users (list, with query)", async () => {
      const validate = spec.response("/users", "200");
      const body = await ok(`/users?query=example&limit=2&total=true`);
      assert.equal(list(body, "users").length, 2);
      assertValid(validate, body, "GET /users?query=example");
      assertValid(validate, await ok(`/users?query=nobody-matches`), "GET /users (empty)");
    });
  });

  describe("schedules", () => {
    it("GET /schedules (list, with query)", async () => {
      const validate = spec.response("/schedules", "200");
      const all = await ok(`/schedules?limit=100`);
      assert.equal(list(all, "schedules").length, 3);
      assertValid(validate, all, "GET /schedules");
      const some = await ok(`/schedules?query=rotation&time_zone=UTC&total=true`);
      assert.equal(list(some, "schedules").length, 1);
      assertValid(validate, some, "GET /schedules?query=rotation");
    });

    it("GET /schedules/{id} with final_schedule and overrides_subschedule", async () => {
      const validate = spec.response("/schedules/{id}", "200");
      for (const q of [
        `/schedules/PRLS5HD?${WINDOW}`,
        `/schedules/PRLS5HD?${WINDOW}&overflow=true&time_zone=UTC`,
      ]) {
        const body = await ok(q);
        const final = (body.schedule as JsonObject).final_schedule as JsonObject;
        assert.equal(list(final, "rendered_schedule_entries").length, 2);
        assertValid(validate, body, `GET ${q}`);
      }
      // a schedule that is in an escalation policy (users and escalation_policies references filled)
      assertValid(validate, await ok(`/schedules/PI7DH85`), "GET /schedules/PI7DH85");
    });
  });

  describe("GET /incidents", () => {
    const ALL = "statuses[]=triggered&statuses[]=acknowledged&statuses[]=resolved";

    it("without includes: user and service acknowledgers as references", async () => {
      const validate = spec.response("/incidents", "200");
      const body = await ok(`/incidents?${ALL}&${WINDOW}&time_zone=UTC&total=true`);
      const incidents = list(body, "incidents");
      assert.equal(incidents.length, 5);
      const ackTypes = incidents.flatMap((i) =>
        (i.acknowledgements as JsonObject[]).map((a) => (a.acknowledger as JsonObject).type),
      );
      assert.deepEqual(ackTypes.sort(), ["service_reference", "user_reference"]);
      assertValid(validate, body, "GET /incidents");
      // no window: the default (last month) in the account zone
      assertValid(
        validate,
        await ok(`/incidents?statuses[]=acknowledged`),
        "GET /incidents (default window)",
      );
    });

    it("include[]=acknowledgers (full User and full Service) and include[]=services", async () => {
      // Unlike Oncall.user, the spec's Acknowledgement.acknowledger is oneOf(reference, User, Service), so the
      // documented include behaviour (full objects) is valid against it.
      const validate = spec.response("/incidents", "200");
      const acks = await ok(`/incidents?statuses[]=acknowledged&include[]=acknowledgers&${WINDOW}`);
      const types = list(acks, "incidents").flatMap((i) =>
        (i.acknowledgements as JsonObject[]).map((a) => (a.acknowledger as JsonObject).type),
      );
      assert.deepEqual(types.sort(), ["service", "user"]);
      assertValid(validate, acks, "GET /incidents?include[]=acknowledgers");
      const both = await ok(`/incidents?${ALL}&include[]=acknowledgers&include[]=services&${WINDOW}`);
      assert.ok(list(both, "incidents").every((i) => (i.service as JsonObject).type === "service"));
      assertValid(validate, both, "GET /incidents?include[]=acknowledgers&include[]=services");
    });
  });

  describe("error bodies", () => {
    // Every 4xx the spec declares for these operations shares one schema ("Generic error response"), which
    // has no `required` at all: `{}` would pass. So each body is also checked for the documented shape
    // (PD-docs 14-Errors): {"error":{"message": string, "code": integer, "errors"?: string[]}}.
    function assertError(apiPath: string, status: number, body: JsonObject, code?: number): void {
      assertValid(spec.response(apiPath, String(status)), body, `${status} body for GET ${apiPath}`);
      const error = body.error as JsonObject | undefined;
      assert.equal(typeof error?.message, "string");
      if (code !== undefined) assert.equal(error?.code, code);
    }

    it("401 for a wrong token (every operation)", async () => {
      for (const [apiPath, url] of [
        ["/oncalls", "/oncalls"],
        ["/users/{id}", "/users/PXPGF42"],
        ["/users", "/users"],
        ["/schedules", "/schedules"],
        ["/schedules/{id}", "/schedules/PI7DH85"],
        ["/incidents", "/incidents"],
      ] as const) {
        const r = await get(url, { Accept: PD_ACCEPT, Authorization: "Token token=wrong" });
        assert.equal(r.status, 401);
        assertError(apiPath, 401, r.body, 2006);
      }
      assert.deepEqual(fake.unexpected, []);
    });

    it("404 for an unknown user or schedule", async () => {
      for (const [apiPath, url] of [
        ["/users/{id}", "/users/PNOSUCH"],
        ["/schedules/{id}", "/schedules/PNOSUCH"],
      ] as const) {
        const r = await get(url);
        assert.equal(r.status, 404);
        assertError(apiPath, 404, r.body, 2100);
      }
      assert.deepEqual(fake.unexpected, []);
    });

    it("400 for bad arguments (codes 2001, 2004, 2005)", async () => {
      const cases = [
        ["/oncalls", "/oncalls?limit=101", 2001],
        ["/oncalls", "/oncalls?offset=9990&limit=100", 2001],
        ["/oncalls", "/oncalls?include[]=teams", 2001],
        ["/oncalls", "/oncalls?since=yesterday", 2004],
        ["/oncalls", "/oncalls?since=2026-11-22T00:00:00Z&until=2026-11-21T00:00:00Z", 2005],
        ["/oncalls", "/oncalls?since=2026-01-01T00:00:00Z&until=2026-06-01T00:00:00Z", 2005],
        ["/schedules", "/schedules?time_zone=Mars/Olympus_Mons", 2001],
        ["/schedules/{id}", "/schedules/PI7DH85?overflow=maybe", 2001],
        ["/incidents", "/incidents?statuses[]=snoozed", 2001],
        ["/incidents", "/incidents?since=2026-01-01T00:00:00Z&until=2026-11-01T00:00:00Z", 2005],
      ] as const;
      for (const [apiPath, url, code] of cases) {
        const r = await get(url);
        assert.equal(r.status, 400, url);
        assertError(apiPath, 400, r.body, code);
        const errors = (r.body.error as JsonObject).errors;
        assert.ok(Array.isArray(errors) && errors.every((e) => typeof e === "string"), url);
      }
      // the fake records each 400 it answers (the client should never cause one)
      assert.equal(fake.unexpected.length, cases.length);
      fake.unexpected.length = 0;
    });

    it("429 from the rate limiter and from scripted faults; default bodies of other scripted statuses", async () => {
      const limited = await startFakePagerDuty({ ...OPTIONS, rateLimitPerMinute: 1 });
      try {
        const first = await fetch(`${limited.url}/oncalls`, { headers: HEADERS });
        assert.equal(first.status, 200);
        await first.body?.cancel();
        const r = await fetch(`${limited.url}/oncalls`, { headers: HEADERS });
        assert.equal(r.status, 429);
        assert.equal(r.headers.get("ratelimit-limit"), "1");
        assertError("/oncalls", 429, (await r.json()) as JsonObject, 2020);

        // default bodies of scripted status faults, against the operation's declared response where there
        // is one; 5xx are not declared on these operations, so the spec's InternalServerError component
        limited.fault("/incidents", { kind: "status", status: 429, headers: { "retry-after": "1" } });
        limited.fault("/users/PXPGF42", { kind: "status", status: 403 }, { kind: "status", status: 404 });
        for (const [apiPath, url, status, code] of [
          ["/incidents", "/incidents", 429, 2020],
          ["/users/{id}", "/users/PXPGF42", 403, 2010],
          ["/users/{id}", "/users/PXPGF42", 404, 2100],
        ] as const) {
          const res = await fetch(limited.url + url, { headers: HEADERS });
          assert.equal(res.status, status);
          assertError(apiPath, status, (await res.json()) as JsonObject, code);
        }
        const internal = spec.validator(
          "#/components/responses/InternalServerError/content/application~1json/schema",
        );
        for (const status of [500, 502, 503]) {
          limited.fault("/oncalls", { kind: "status", status });
          const res = await fetch(`${limited.url}/oncalls`, { headers: HEADERS });
          assert.equal(res.status, status);
          assertValid(internal, await res.json(), `${status} body`);
        }
        // a page that lies about `more` is still well-formed
        limited.fault("/oncalls", { kind: "lie-more" });
        const lie = await fetch(`${limited.url}/oncalls?limit=10`, { headers: HEADERS });
        assertValid(spec.response("/oncalls", "200"), await lie.json(), "lie-more page");
        assert.deepEqual(limited.unexpected, []);
      } finally {
        await limited.close();
      }
    });

    it("406 for a wrong Accept: not declared by the spec, but the same error envelope", async () => {
      // The spec declares only application/json responses and no 406 (Prism answers 406 to
      // PagerDuty's own versioned Accept). The fake's 406 uses the shared error schema all the same.
      const r = await get(`/users/PXPGF42`, {
        Accept: "application/json",
        Authorization: HEADERS.Authorization,
      });
      assert.equal(r.status, 406);
      assertValid(
        spec.validator("#/components/responses/NotFound/content/application~1json/schema"),
        r.body,
        "406 body",
      );
      assert.equal(fake.unexpected.length, 1);
      fake.unexpected.length = 0;
    });
  });
});
