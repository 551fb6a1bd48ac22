import { constants, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { SecretError } from "../errors.js";
import { keyMaterial, readSigningKey } from "../core/private-key.js";
import type { SecretSet } from "../core/redact.js";
import { targetCredentialProblems } from "../targets/index.js";
import type { Config, SecretRef } from "./types.js";

/** Secret values by owner: "sources.pd", "targets.sdm", "notify.channels.slack". They live in memory only. */
export type Secrets = Map<string, string>;

/** A token file larger than this is not a token (a log, a device, a file given by mistake). */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/**
 * Reads every secret the given sources and targets need, registering each with the redactor before
 * anything else can print it. All problems are reported at once (exit 2): a missing variable, an
 * unreadable file, an empty value, a value that cannot be a token. Messages name the variable or the
 * file and the config key, never the value.
 */
export async function resolveSecrets(
  config: Config,
  env: NodeJS.ProcessEnv,
  redactor: SecretSet,
  only?: {
    sources: Set<string>;
    targets: Set<string>;
    channels?: Set<string>;
    /** Targets whose secret is read where it can be, and left out without a problem where not. */
    targetsIfSet?: Set<string>;
  },
): Promise<Secrets> {
  // Each secret with whether it is needed (a missing one is a problem) or only read if set.
  const wanted: [string, SecretRef, boolean][] = [];
  for (const s of config.sources.values()) {
    if (only && !only.sources.has(s.name)) continue;
    if ("secret" in s && s.secret) wanted.push([`sources.${s.name}`, s.secret, true]);
  }
  const problems: string[] = [];
  for (const t of config.targets.values()) {
    const needed = !only || only.targets.has(t.name);
    if (!needed && !only?.targetsIfSet?.has(t.name)) continue;
    if ("secret" in t && t.secret) wanted.push([`targets.${t.name}`, t.secret, needed]);
    if (needed) problems.push(...(await targetCredentialProblems(t, env)));
  }
  for (const c of config.channels.values()) {
    if (only && !only.channels?.has(c.name)) continue;
    if (c.secret) wanted.push([`notify.channels.${c.name}`, c.secret, true]);
  }
  const secrets: Secrets = new Map();
  for (const [owner, ref, needed] of wanted) {
    const got = await readSecret(ref, env);
    const key = `${owner}.${ref.privateKey?.key ?? (ref.tokenFile ? "tokenFile" : "tokenEnv")}`;
    if ("problem" in got) {
      if (needed) problems.push(`${got.problem} (${key})${got.hint ?? ""}`);
    } else {
      // A key file is several lines: each piece of its material is a secret of its own.
      for (const part of ref.privateKey ? keyMaterial(got.value) : [got.value]) redactor.add(part);
      secrets.set(owner, got.value);
    }
  }
  if (problems.length > 0) throw new SecretError(problems);
  return secrets;
}

type Read = { value: string } | { problem: string; hint?: string };

async function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv): Promise<Read> {
  if (ref.tokenFile) {
    const text = await readTokenFile(ref.tokenFile);
    if (typeof text !== "string") return text;
    return ref.privateKey ? checkPrivateKey(text, ref.tokenFile) : checkToken(text, ref.tokenFile);
  }
  const raw = env[ref.tokenEnv];
  if (raw === undefined) {
    return {
      problem: `missing secret: ${ref.tokenEnv} is not set`,
      hint: "; set it where shiftgrant runs (e.g. in the crontab, or an env file it sources), or use tokenFile",
    };
  }
  return checkToken(raw, ref.tokenEnv);
}

/**
 * The file's text, or why it cannot hold a token. NOTE: the file is opened without blocking and
 * checked through the open descriptor before anything is read: a FIFO would hang the run until a
 * writer came, and a device such as /dev/zero would be read until memory ran out.
 */
async function readTokenFile(file: string): Promise<string | { problem: string }> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return { problem: `missing secret: cannot read ${file} (${READ_ERRORS[code] ?? code})` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { problem: `unusable secret: ${file} is ${fileKind(st)}, not a regular file` };
    if (st.size > MAX_TOKEN_FILE_BYTES) {
      return {
        problem: `unusable secret: ${file} holds ${st.size} bytes, more than the ${MAX_TOKEN_FILE_BYTES / 1024} KB a token file may hold`,
      };
    }
    const buf = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_TOKEN_FILE_BYTES) {
      return { problem: `unusable secret: ${file} grew past ${MAX_TOKEN_FILE_BYTES / 1024} KB while read` };
    }
    return buf.subarray(0, bytesRead).toString("utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return { problem: `missing secret: cannot read ${file} (${READ_ERRORS[code] ?? code})` };
  } finally {
    await fh.close();
  }
}

/**
 * A token is one line of text: one trailing newline (what `echo` and editors add) and surrounding
 * spaces are dropped; any other line break or control character is refused, since it would make
 * every request fail ("invalid header") only after the retries, or split a header.
 */
function checkToken(raw: string, where: string): Read {
  const value = raw.replace(/\r?\n$/, "").replace(/^ +| +$/g, "");
  if (value === "") return { problem: `missing secret: ${where} is empty` };
  const bad = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.exec(value);
  if (bad) {
    const c = bad[0];
    const what =
      c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029"
        ? "a line break"
        : `a control character (U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")})`;
    return {
      problem: `unusable secret: ${where} holds ${what}`,
      hint: "; a token is one line of printable characters (only one trailing newline is ignored)",
    };
  }
  return { value };
}

/** A private key file must hold a key shiftgrant can sign with; the problem never quotes the file. */
function checkPrivateKey(text: string, file: string): Read {
  const k = readSigningKey(text);
  if ("problem" in k) return { problem: `unusable secret: ${file} ${k.problem}` };
  return { value: text };
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "something else";
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
  ENXIO: "no such device or address: a socket?",
};
