import type { DayFixture } from "../day.js";
import { startFakeApono, type FakeAponoRequest, type FakeAponoUser } from "../fakes/apono.js";

const TOKEN = "apono-day-token";

export const DAY_USERS: FakeAponoUser[] = ["alice", "bob", "carol", "dave"].map((n) => ({
  id: `u-${n}`,
  email: `${n}@example.com`,
}));

/**
 * The day with an `apono` target: each grant and extension is an access request for its length, so
 * Apono ends the access itself; a revoke names every request of the access still running. Apono
 * cannot list who has access, so there is no exclusive day.
 */
export async function dayFixture(): Promise<DayFixture & { requestStates(): FakeAponoRequest[] }> {
  const fake = await startFakeApono({
    token: TOKEN,
    users: DAY_USERS,
    integrations: [
      { id: "int-pg", name: "prod-postgres", resources: ["res-db1"], permissions: ["ReadOnly"] },
    ],
  });
  let seen = 0;
  return {
    title: "apono",
    exclusive: false,
    target: {
      type: "apono",
      baseUrl: fake.url,
      // One call at a time: the day's calls print in one order, whatever the machine's speed.
      concurrency: 1,
      resources: { ops: { integrationId: "int-pg", resourceIds: ["res-db1"], permissions: ["ReadOnly"] } },
    },
    resource: "ops",
    env: { APONO_TOKEN: TOKEN },
    // Dave asked Apono himself, for a week: shiftgrant's requests and revokes never touch his.
    addMember: async (identity) => {
      fake.addGranted(identity, "int-pg", ["res-db1"], ["ReadOnly"], 7 * 86_400);
    },
    beforeRun: async (at) => fake.setNow(at),
    calls: async () => {
      const all = fake.calls();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    requestStates: () => fake.requests(),
    close: () => fake.close(),
  };
}
