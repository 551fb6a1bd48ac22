import type { DayFixture } from "../day.js";
import { startFakeOkta, type FakeOktaUser } from "../fakes/okta.js";

const TOKEN = "00okta-day-token";
const GROUP = { id: "00goncall000000000g1", name: "oncall-prod", type: "OKTA_GROUP" as const };
const user = (name: string, n: number): FakeOktaUser => ({
  id: `00u${name.padEnd(16, "0")}${n}`,
  login: `${name}@example.com`,
  email: `${name}@example.com`,
});
const USERS = [user("alice", 1), user("bob", 2), user("carol", 3), user("dave", 4)];

/** The day with the okta target (API token) against the fake Okta: one OKTA_GROUP, four users. */
export async function dayFixture(): Promise<DayFixture> {
  const okta = await startFakeOkta({ token: TOKEN, users: USERS, groups: [GROUP] });
  let seen = 0;
  return {
    title: "okta",
    exclusive: true,
    // One call at a time: the day lists calls in the order they were made.
    target: { type: "okta", orgUrl: okta.url, concurrency: 1 },
    resource: GROUP.name,
    env: { OKTA_API_TOKEN: TOKEN },
    addMember: async (identity) => {
      const u = USERS.find((x) => x.login === identity);
      if (!u) throw new Error(`no such user in the fake Okta: ${identity}`);
      okta.join(GROUP.id, u.id);
    },
    calls: async () => {
      const all = okta.calls();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    close: () => okta.close(),
  };
}
