import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { findOrphanedGrants } from "./orphans.js";
import type { HeldGrant } from "./types.js";

const utc = (iso: string): DateTime => DateTime.fromISO(iso, { zone: "utc" });
const NOW = utc("2026-11-22T10:00:00Z");

function held(target: string, rule: string, identity: string, end = "2026-11-22T18:00:00Z"): HeldGrant {
  return { target, resource: "db", identity, rule, start: utc("2026-11-22T09:00:00Z"), end: utc(end) };
}

describe("findOrphanedGrants", () => {
  const config = { targets: new Set(["sdm"]), rules: new Set(["prod"]) };

  it("finds nothing when every held grant's target and rule are in the config", () => {
    assert.deepEqual(findOrphanedGrants([held("sdm", "prod", "a@x.com")], config, NOW, "state.json"), []);
  });

  it("counts the grants in force per missing target, then per missing rule, each with how to carry them over", () => {
    const found = findOrphanedGrants(
      [
        held("old-sdm", "prod", "a@x.com"),
        held("old-sdm", "prod", "b@x.com"),
        held("old-sdm", "prod", "c@x.com", "2026-11-22T10:00:00Z"), // ended: no longer matters
        held("gone", "prod", "a@x.com"),
        held("sdm", "old-prod", "a@x.com"),
        held("sdm", "prod", "d@x.com"),
      ],
      config,
      NOW,
      "/var/lib/shiftgrant/state.json",
    );
    assert.deepEqual(
      found.map((o) => [o.kind, o.name, o.count]),
      [
        ["target", "gone", 1],
        ["target", "old-sdm", 2],
        ["rule", "old-prod", 1],
      ],
    );
    assert.equal(
      found[1]?.message,
      'the ledger /var/lib/shiftgrant/state.json holds 2 grants in force on target "old-sdm", which the config no longer has: ' +
        "they are never extended, cut or revoked, and if the target was renamed, this run grants the same access again under the new name. " +
        'To carry them over, stop scheduled runs, replace "target": "old-sdm" by the new name in the ledger, then run again.',
    );
    assert.equal(
      found[2]?.message,
      'the ledger /var/lib/shiftgrant/state.json holds 1 grant in force of rule "old-prod", which the config no longer has: ' +
        "they still count as held access, but no rule revokes or cuts them. " +
        'If the rule was renamed, stop scheduled runs, replace "rule": "old-prod" by the new name in the ledger, then run again.',
    );
  });
});
