import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inlineCodeWarnings } from "./shell.js";

const AT = "targets.script.grant";
const REASON_RISK =
  "a schedule name or incident title holding $(…) or ; would run as a command. " +
  'Pass it as an argument of its own instead, e.g. ["sh", "-c", "grant \\"$1\\"", "sh", "{reason}"]';

describe("command templates that give source text to an interpreter as code", () => {
  it("warns about {reason} inside a shell's -c script, whatever the shell, its path or flags", () => {
    for (const argv of [
      ["sh", "-c", "grant {identity} '{reason}'"],
      ["/bin/bash", "-ec", "grant --why={reason}"],
      ["sudo", "-u", "ops", "zsh", "-o", "pipefail", "-c", "grant {reason}"],
      ["env", "A=1", "dash", "-lc", "x {reason}"],
    ]) {
      const name = argv.find((a) => /(sh|bash|zsh|dash)$/.test(a))?.replace(/.*\//, "");
      const found = argv.some((a) => a.includes("{identity}")) ? "{reason} and {identity}" : "{reason}";
      assert.deepEqual(
        inlineCodeWarnings(argv, AT),
        [`${AT}: ${found} inside the code that ${name} runs: ${REASON_RISK}`],
        argv.join(" "),
      );
    }
  });

  it("warns about {identity} alone (a ' ends a quoted string), and about other interpreters and ssh", () => {
    assert.deepEqual(inlineCodeWarnings(["bash", "-c", "grant '{identity}'"], AT), [
      `${AT}: {identity} inside the code that bash runs: an identity holding ' would end a quoted string. ` +
        'Pass it as an argument of its own instead, e.g. ["sh", "-c", "grant \\"$1\\"", "sh", "{identity}"]',
    ]);
    for (const argv of [
      ["python3", "-c", "print('{reason}')"],
      ["perl", "-e", "print '{reason}'"],
      ["node", "--eval", "console.log('{reason}')"],
      ["ssh", "-i", "key", "bastion", "grant", "{reason}"],
    ]) {
      assert.equal(inlineCodeWarnings(argv, AT).length, 1, argv.join(" "));
    }
  });

  it("says nothing when the value is an argument of its own, a script file's argument, or config-controlled", () => {
    for (const argv of [
      ["sh", "-c", 'grant "$1" "$2"', "sh", "{identity}", "{reason}"],
      ["bash", "/usr/local/bin/grant.sh", "{identity}", "{reason}"],
      ["sh", "-c", "grant {rule} {resource} {start} {end} {duration}"],
      ["/usr/local/bin/grant", "{identity}", "--reason={reason}"],
      ["python3", "grant.py", "{reason}"],
      ["constructor", "-c", "{reason}"],
    ]) {
      assert.deepEqual(inlineCodeWarnings(argv, AT), [], argv.join(" "));
    }
  });
});
