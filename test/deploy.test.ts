import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { it } from "node:test";
import { parseAllDocuments } from "yaml";
import { ROOT } from "./helpers.js";

// The deployment examples are checked for what makes them safe to copy: one run at a time, tokens
// from a secret store, the ledger on persistent storage, a lock conflict not counted as a failure.
const read = (p: string) => readFileSync(path.join(ROOT, p), "utf8");

it("the Kubernetes CronJob forbids overlapping runs, reads tokens from a Secret and keeps the ledger on a PVC", () => {
  const docs = parseAllDocuments(read("examples/deploy/kubernetes.yaml")).map((d) => d.toJS());
  const pvc = docs.find((d) => d.kind === "PersistentVolumeClaim");
  const cron = docs.find((d) => d.kind === "CronJob");
  assert.ok(pvc && cron);
  assert.equal(cron.spec.concurrencyPolicy, "Forbid");
  const pod = cron.spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0];
  assert.deepEqual(container.args.slice(0, 3), ["sync", "-c", "/etc/shiftgrant/shiftgrant.yaml"]);
  assert.deepEqual(container.envFrom, [{ secretRef: { name: "shiftgrant-tokens" } }]);
  assert.ok(!JSON.stringify(container).includes("TOKEN="), "no token written into the manifest");
  const stateVolume = pod.volumes.find((v: { name: string }) => v.name === "state");
  assert.equal(stateVolume.persistentVolumeClaim.claimName, pvc.metadata.name);
  assert.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === "/var/lib/shiftgrant"));
  // Longer than a target call's default timeout (60s): a SIGTERM lets the call under way finish.
  assert.equal(pod.terminationGracePeriodSeconds, 90);
});

it("the systemd unit runs one sync, reads tokens from an env file, and treats exit 5 (locked) as success", () => {
  const unit = read("examples/deploy/shiftgrant.service");
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^EnvironmentFile=\/etc\/shiftgrant\/env$/m);
  assert.match(unit, /^ExecStart=\/usr\/bin\/shiftgrant sync -c \/etc\/shiftgrant\/shiftgrant\.yaml /m);
  assert.match(unit, /^SuccessExitStatus=5$/m);
  assert.match(unit, /^StateDirectory=shiftgrant$/m);
  // SIGTERM to shiftgrant only, with time to finish the call under way.
  assert.match(unit, /^KillMode=mixed$/m);
  assert.match(unit, /^TimeoutStopSec=90$/m);
  const timer = read("examples/deploy/shiftgrant.timer");
  assert.match(timer, /^OnCalendar=\*-\*-\* \*:07:00$/m);
  assert.match(timer, /^Persistent=true$/m);
});

it("the crontab example is a valid five-field cron line that runs sync and mails only failures", () => {
  const lines = read("crontab.example")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#") && !/^[A-Z]+=/.test(l));
  assert.equal(lines.length, 1);
  const fields = (lines[0] as string).split(/\s+/);
  assert.deepEqual(fields.slice(0, 5), ["7", "*", "*", "*", "*"]);
  assert.match(lines[0] as string, /shiftgrant sync -c \/etc\/shiftgrant\/shiftgrant\.yaml/);
  assert.match(lines[0] as string, /\|\| echo "shiftgrant sync failed with exit code \$\?/);
});
