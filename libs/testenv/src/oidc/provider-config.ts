/** What the test OIDC provider serves (provider-server.ts): its clients and its accounts. */
export interface ProviderConfig {
  port: number;
  clients: Array<{ clientId: string; clientSecret: string; redirectUris: string[]; /** ID tokens' lifetime (default an hour). */ idTokenSeconds?: number }>;
  /** People (email, email_verified, groups) and CI jobs (repository, ref): whoever signs in with the username and password. */
  accounts: Array<{ sub: string; username: string; password: string; claims: Record<string, unknown> }>;
}
