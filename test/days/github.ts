import type { DayFixture } from "../day.js";
import { startFakeGithub } from "../fakes/github.js";

const TOKEN = "ghp_day-token-NEVER-PRINTED";

/**
 * The day with a `github` target (a token; team `oncall` of organisation `acme`): the people are
 * GitHub logins, mapped from their emails by the target's `identities`.
 */
export async function dayFixture(): Promise<DayFixture> {
  const logins = ["alice", "bob", "carol", "dave"].map((n) => `${n}-gh`);
  const gh = await startFakeGithub({
    org: "acme",
    token: TOKEN,
    orgMembers: logins,
    teams: [{ slug: "oncall" }],
  });
  let seen = 0;
  return {
    title: "github (team memberships; logins mapped by identities)",
    exclusive: true,
    // One call at a time (also the github default): the day's calls come in one order.
    target: { type: "github", org: "acme", baseUrl: gh.url, concurrency: 1 },
    resource: "oncall",
    identities: Object.fromEntries(logins.map((l) => [`${l.replace(/-gh$/, "")}@example.com`, l])),
    env: { GITHUB_TOKEN: TOKEN },
    addMember: async (login) => gh.addTeamMember("oncall", login),
    calls: async () => {
      const all = gh.calls();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    close: () => gh.close(),
  };
}
