import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { DayFixture } from "../day.js";
import { startFakeGoogle, serviceAccountKeyJson } from "../fakes/google.js";
import { makeTempDir } from "../helpers.js";

const GROUP = "oncall-prod@example.com";

/**
 * The day with a `google-groups` target against the fake Cloud Identity: memberships carry an
 * expiry that the fake enforces against each run's clock, so Google ends every grant itself.
 */
export async function dayFixture(): Promise<DayFixture> {
  const google = await startFakeGoogle({
    groups: [{ email: GROUP, id: "03grp0000prod" }],
    users: ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"],
    // One membership a page: an exclusive listing follows nextPageToken.
    pageSize: 1,
  });
  const { dir, cleanup } = await makeTempDir("shiftgrant-day-google-");
  const keyFile = path.join(dir, "sa.json");
  await writeFile(keyFile, serviceAccountKeyJson(google.tokenUri), { mode: 0o600 });
  // The service account runs the group as its owner, as Google's least-privilege setup suggests.
  google.addMember(GROUP, "shiftgrant@example-project.iam.gserviceaccount.com", [
    { name: "OWNER" },
    { name: "MEMBER" },
  ]);
  let seen = 0;
  return {
    title: "google-groups (Google ends each membership at its expiry)",
    exclusive: true,
    target: { type: "google-groups", baseUrl: google.url, concurrency: 1 },
    resource: GROUP,
    env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
    addMember: async (identity) => google.addMember(GROUP, identity),
    beforeRun: async (at) => google.setNow(at.toISO() ?? ""),
    calls: async () => {
      const all = google.calls();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh.map(compact);
    },
    close: async () => {
      try {
        await google.close();
      } finally {
        await cleanup();
      }
    },
  };
}

/** One call in a line: the path without the API's prefix, and a create's or modify's expiry. */
function compact(call: string): string {
  const expiry = /"expireTime":"[0-9-]+T([0-9:]+):00Z"/.exec(call)?.[1];
  const member = /"preferredMemberKey":\{"id":"([^"]+)"/.exec(call)?.[1];
  const line = call.replace(/ \{.*$/, "").replace("/v1/groups/03grp0000prod", "…");
  return [line, member, expiry ? `expires ${expiry}` : ""].filter(Boolean).join(" ");
}
