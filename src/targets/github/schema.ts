import { z } from "zod";

/**
 * The parts of GitHub's answers the target reads, and only those: a team membership's state, a
 * team member's login, and a page of the organisation's SAML-linked identities.
 */
export const teamMembershipSchema = z.object({ state: z.string() });

export const teamMembersSchema = z.array(z.object({ login: z.string() }));

export const samlPageSchema = z.object({
  organization: z
    .object({
      samlIdentityProvider: z
        .object({
          externalIdentities: z.object({
            nodes: z.array(
              z.object({
                samlIdentity: z.object({ nameId: z.string().nullable() }).nullable(),
                user: z.object({ login: z.string() }).nullable(),
              }),
            ),
            pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
          }),
        })
        .nullable(),
    })
    .nullable(),
});

export type SamlPage = z.infer<typeof samlPageSchema>;

/** The one GraphQL query the target makes: a page of SAML-linked identities. */
export const SAML_QUERY = `query ($org: String!, $after: String) {
  organization(login: $org) {
    samlIdentityProvider {
      externalIdentities(first: 100, after: $after) {
        nodes { samlIdentity { nameId } user { login } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

/**
 * The logins of one page (nameId lower-cased -> login lower-cased); identities linked to no user
 * (never signed in) are left out.
 */
export function linkedLogins(page: SamlPage): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of page.organization?.samlIdentityProvider?.externalIdentities.nodes ?? []) {
    const nameId = n.samlIdentity?.nameId?.trim();
    if (nameId && n.user) out.set(nameId.toLowerCase(), n.user.login.toLowerCase());
  }
  return out;
}
