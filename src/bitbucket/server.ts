/**
 * The one Bitbucket of a run, chosen once from the settings (SPEC §6):
 * Cloud (REST 2.0 on the API host, archives on the web host) or Data
 * Center (REST 1.0 under the site's context path, §6a). Call sites ask
 * this interface and never test the kind themselves.
 */
import { archiveUrl as cloudArchiveUrl, type RefInfo } from './api.js';
import type { BitbucketHttp } from './client.js';
import { projectKeyProblem } from './datacenter/names.js';
import { dcApplicationPropertiesUrl, dcArchiveUrl } from './datacenter/urls.js';
import type { GetJson, RepoRef, Resolution } from './resolve.js';
import { NpkgError } from '../util/errors.js';
import { siteHost, type ServerKind } from '../util/server-kind.js';

/** Where Bitbucket is, as the settings say. */
export interface ServerPlace {
  kind: ServerKind;
  bitbucketUrl: string;
  apiUrl: string;
}

/** Who a credential belongs to, as far as the server tells. */
export interface Account {
  displayName: string | null;
  username: string | null;
  accountId: string | null;
}

export interface BitbucketServer {
  kind: ServerKind;
  /** SPEC §1's order: exact tag, semver range, branch, commit. */
  resolveRef(get: GetJson, target: RepoRef): Promise<Resolution>;
  /** Every tag of a repository, all pages. */
  listTags(get: GetJson, workspace: string, slug: string): Promise<RefInfo[]>;
  /** The archive of a full commit, with a single top folder. */
  archiveUrl(workspace: string, slug: string, commit: string): string;
  /**
   * The folders of the local archive cache that hold a repository's archives:
   * `workspace/slug` on Cloud (a layout that never changes), the host first
   * on Data Center, whose project keys are the same in any case.
   */
  cacheFolders(workspace: string, slug: string): string[];
  /** The one spelling of a workspace in cache keys, local and team (Data Center project keys are case-blind). */
  cacheWorkspace(workspace: string): string;
  whoami(http: BitbucketHttp): Promise<Account>;
}

/** The server of these settings; no request is made. */
export function bitbucketServer(place: ServerPlace): BitbucketServer {
  return place.kind === 'datacenter' ? dataCenter(place) : cloud(place);
}

function cloud(place: ServerPlace): BitbucketServer {
  return {
    kind: 'cloud',
    resolveRef: async (get, target) => (await import('./resolve.js')).resolveRef(get, place.apiUrl, target),
    listTags: async (get, workspace, slug) => (await import('./resolve.js')).listTags(get, place.apiUrl, workspace, slug),
    archiveUrl: (workspace, slug, commit) => cloudArchiveUrl(place.bitbucketUrl, workspace, slug, commit),
    cacheFolders: (workspace, slug) => [workspace, slug],
    cacheWorkspace: (workspace) => workspace,
    async whoami(http) {
      const user = (await http.getJson(`${place.apiUrl}/2.0/user`, '', 'your account')) as Record<string, unknown> | undefined;
      return {
        displayName: typeof user?.display_name === 'string' ? user.display_name : null,
        username: typeof user?.username === 'string' ? user.username : typeof user?.nickname === 'string' ? user.nickname : null,
        accountId: typeof user?.account_id === 'string' ? user.account_id : null,
      };
    },
  };
}

function dataCenter(place: ServerPlace): BitbucketServer {
  const site = place.bitbucketUrl;
  return {
    kind: 'datacenter',
    resolveRef: async (get, target) => (await import('./datacenter/resolve.js')).resolveDataCenterRef(get, site, target),
    listTags: async (get, key, slug) => (await import('./datacenter/resolve.js')).listDataCenterTags(get, site, key, slug),
    archiveUrl: (key, slug, commit) => dcArchiveUrl(site, { key, slug }, commit),
    // `@` starts no Cloud workspace, so the two layouts never meet; `:` is no file name character everywhere.
    cacheFolders: (key, slug) => [dataCenterCacheFolder(site), dataCenterCacheKey(key), slug],
    cacheWorkspace: dataCenterCacheKey,
    async whoami(http) {
      // Data Center has no "current user" endpoint for tokens: every authenticated answer names the user.
      const answer = await http.getJsonAnswer(dcApplicationPropertiesUrl(site), '', 'your account');
      const { userFromHeaders } = await import('./datacenter/answers.js');
      const username = answer === undefined ? undefined : userFromHeaders(answer.headers);
      if (username === undefined) {
        throw new NpkgError('CREDENTIAL_REFUSED', `${siteHost(site)} did not say who the credential belongs to (no X-AUSERNAME): it was not accepted; check it, or run \`npkg login\``);
      }
      return { displayName: null, username, accountId: null };
    },
  };
}

/** `plat` and `PLAT` are one project: upper case (a personal project `~alice` as it is). */
function dataCenterCacheKey(key: string): string {
  return key.startsWith('~') ? key : key.toUpperCase();
}

/** The cache folder of one Data Center: `@host` (`:port` as `_port`). */
export function dataCenterCacheFolder(bitbucketUrl: string): string {
  return `@${siteHost(bitbucketUrl).replace(/[:[\]]/g, '_')}`;
}

/** How the manifest checks a workspace on this kind of server: a Cloud workspace id, or a Data Center project key. */
export function workspaceRule(kind: ServerKind): ((value: string) => string | undefined) | undefined {
  return kind === 'datacenter' ? projectKeyProblem : undefined;
}
