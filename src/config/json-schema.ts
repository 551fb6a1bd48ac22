import { z } from "zod";
import { configSchema } from "./schema.js";

/** The config's JSON Schema, generated from the same definition that validates configs. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  const doc = {
    $schema: schema.$schema,
    title: "shiftgrant config",
    ...schema,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
