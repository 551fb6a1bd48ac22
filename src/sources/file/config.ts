import { z } from "zod";
import type { NormalizeContext } from "../../core/fields.js";
import type { SourceStarter } from "../define.js";

export const fileSchema = z.strictObject({
  type: z.literal("file").meta({
    description: "A rota file (YAML or JSON): explicit shifts, rotations and overrides; read on every run.",
  }),
  path: z.string().min(1).meta({ description: "The rota file, relative to the config file." }),
});

export type FileConfig = { name: string; type: "file"; path: string };

export function normalizeFile(raw: z.output<typeof fileSchema>, ctx: NormalizeContext): FileConfig {
  return { name: ctx.name, type: raw.type, path: ctx.resolvePath(raw.path, `${ctx.at}.path`) };
}

export const fileStarter: SourceStarter = {
  name: "rota",
  yaml: [
    "    type: file",
    "    path: rota.yaml                      # relative to this file; read on every run. For example:",
    "    # shifts:",
    "    #   - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }",
    "    # rotations:",
    "    #   - schedule: primary",
    "    #     members: [alice@example.com, bob@example.com]",
    "    #     start: 2026-01-05T09:00:00     # first handoff, wall time in `timezone`",
    "    #     timezone: Europe/Berlin",
    "    #     length: 7d",
  ],
  env: [],
  schedules: ["    schedules: [primary]                 # the rota's schedule names"],
};
