import type { HttpClient, HttpSettings } from "../infra/http.js";
import type { Logger } from "../infra/log.js";
import type { NotifyEvent } from "./event.js";

/** One message's fate. A skip is final and counts as done (e.g. no Slack user has that email). */
export type Delivery =
  { status: "sent" } | { status: "skipped"; reason: string } | { status: "failed"; error: string };

/**
 * One place a channel delivers to, with its own record in the ledger: a Slack channel posts to a
 * channel (`key` = the channel's name) and sends direct messages (`NAME.dm`), each remembered apart,
 * so that a direct message that failed is sent again without posting the channel message twice.
 */
export type Outlet = {
  key: string;
  /** The channel (its name in the config) this outlet belongs to. */
  channel: string;
  required: boolean;
  wants(e: NotifyEvent): boolean;
  send(e: NotifyEvent): Promise<Delivery>;
  /** What a dry run prints instead of sending: where to, and the message's plain text. */
  preview(e: NotifyEvent): string;
};

export type ChannelCheck = { ok: true; detail: string } | { ok: false; error: string };

export type Channel = {
  outlets: Outlet[];
  /** For `validate --online`: the credentials work and the endpoint answers; nothing is posted. */
  check(): Promise<ChannelCheck>;
};

export type ChannelDeps = {
  token: string | null;
  http: HttpClient;
  /** The config's HTTP settings: an SDK doing its own HTTP is bounded by them. */
  httpSettings: HttpSettings;
  log: Logger;
  sleep: (ms: number) => Promise<void>;
};
