import type { z } from "zod";
import type { NormalizeContext } from "../core/fields.js";
import { channelRegistry, type ChannelDefinition } from "./define.js";
import { slackChannel } from "./slack/index.js";
import type { Channel, ChannelDeps } from "./types.js";
import { webhookChannel } from "./webhook/index.js";

/** Every channel type, one line each. A type's folder declares all the rest (see define.ts). */
export const CHANNELS = channelRegistry({
  slack: slackChannel,
  webhook: webhookChannel,
});

type Definitions = typeof CHANNELS;
export type ChannelType = keyof Definitions;
type ConfigOf<K extends ChannelType> = ReturnType<Definitions[K]["normalize"]>;
type RawOf<K extends ChannelType> = z.output<Definitions[K]["schema"]>;

export type ChannelConfig = { [K in ChannelType]: ConfigOf<K> }[ChannelType];
export type RawChannel = { [K in ChannelType]: RawOf<K> }[ChannelType];

const BY_TYPE: { [K in ChannelType]: ChannelDefinition<K, Definitions[K]["schema"], ConfigOf<K>> } = CHANNELS;

function normalizeAs<K extends ChannelType>(type: K, raw: RawOf<K>, ctx: NormalizeContext): ConfigOf<K> {
  return BY_TYPE[type].normalize(raw, ctx);
}

function createAs<K extends ChannelType>(type: K, config: ConfigOf<K>, deps: ChannelDeps): Channel {
  return BY_TYPE[type].create(config, deps);
}

export function normalizeChannel(raw: RawChannel, ctx: NormalizeContext): ChannelConfig {
  return normalizeAs(raw.type, raw, ctx);
}

export function createChannel(config: ChannelConfig, deps: ChannelDeps): Channel {
  return createAs(config.type, config, deps);
}
