import type { OAuthOptions } from './cloud/oauth2.js';
import type { DataCenterOptions } from './datacenter-api.js';
import type { RepoFixture } from './git-fixtures.js';

export type ServerName = 'api' | 'web' | 'cdn';

export interface EmulatorOptions {
  repos: RepoFixture[];
  bearerTokens?: string[];
  basicUsers?: Array<{ username: string; password: string }>;
  /** How the archive host answers a request without a valid credential (default: 302 to the sign-in page). */
  unauthenticatedArchive?: '401' | 'signin-redirect';
  /** Archives answer 302 to a second host that serves the bytes without auth. */
  archiveRedirect?: boolean;
  /** Delay before every response, for benchmarks. */
  latencyMs?: number;
  /** Cap on archive bytes per second per download, for benchmarks. */
  bytesPerSecond?: number;
  publicRepos?: boolean;
  /** Largest page the ref lists serve (Bitbucket: 100); small in tests to force pagination. */
  maxPagelen?: number;
  /** OAuth 2.0 consumers and token behaviour; tokens it issues are accepted as Bearer. */
  oauth?: OAuthOptions;
  /**
   * Makes the web host a Bitbucket Data Center (REST 1.0 under a context
   * path, its own tokens and OAuth) over the same repositories; the Cloud
   * routes and options above then do not apply there.
   */
  datacenter?: DataCenterOptions;
}

export interface LoggedRequest {
  server: ServerName;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}
