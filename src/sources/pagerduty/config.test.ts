import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import type { NormalizeContext } from "../../core/fields.js";
import { normalizePagerduty, pagerdutySchema } from "./config.js";

const context = (problems: string[] = []): NormalizeContext => ({
  name: "pd",
  at: "sources.pd",
  problems,
  resolvePath: (p) => path.resolve("/etc/shiftgrant", p),
});

const normalize = (raw: unknown, problems: string[] = []) =>
  normalizePagerduty(pagerdutySchema.parse(raw), context(problems));

describe("pagerduty config", () => {
  it("defaults to PAGERDUTY_TOKEN and the US API", () => {
    const problems: string[] = [];
    assert.deepEqual(normalize({ type: "pagerduty" }, problems), {
      name: "pd",
      type: "pagerduty",
      secret: { tokenEnv: "PAGERDUTY_TOKEN", tokenFile: null },
      baseUrl: "https://api.pagerduty.com",
    });
    assert.deepEqual(problems, []);
  });

  it("takes the EU API without its trailing slash, and a token file beside the config", () => {
    assert.deepEqual(
      normalize({ type: "pagerduty", baseUrl: "https://api.eu.pagerduty.com/", tokenFile: "secrets/pd" }),
      {
        name: "pd",
        type: "pagerduty",
        secret: { tokenEnv: "PAGERDUTY_TOKEN", tokenFile: "/etc/shiftgrant/secrets/pd" },
        baseUrl: "https://api.eu.pagerduty.com",
      },
    );
  });

  it("refuses plain http away from this machine, and tokenEnv with tokenFile", () => {
    const problems: string[] = [];
    normalize(
      { type: "pagerduty", baseUrl: "http://api.pagerduty.com", tokenEnv: "PD", tokenFile: "/t" },
      problems,
    );
    assert.deepEqual(problems, [
      'sources.pd.baseUrl: "http://api.pagerduty.com" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
      "sources.pd: set tokenEnv or tokenFile, not both",
    ]);
  });

  it("takes plain http to 127.0.0.1 (tests, a local proxy)", () => {
    const problems: string[] = [];
    normalize({ type: "pagerduty", baseUrl: "http://127.0.0.1:8080" }, problems);
    assert.deepEqual(problems, []);
  });
});
