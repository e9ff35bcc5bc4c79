/**
 * A Bitbucket Data Center personality (BITBUCKET-DC.md), as one request
 * handler over the same real git repositories as the Cloud emulator: REST
 * 1.0 under a context path, fuzzy filterText, paging that lowers `limit`,
 * tags whose `hash` is null or absent, `errors` bodies with
 * `exceptionName`, HTML 404s, X-AUSERNAME, Bearer and Basic, archives by
 * real `git archive --prefix`, and OAuth 2.0 (datacenter-oauth.ts).
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGzip } from 'node:zlib';
import type { BodyFault } from './faults.js';
import { git, type BuiltRepo } from './git-fixtures.js';
import { DcOAuthServer, type DcOAuthOptions } from './datacenter-oauth.js';

export interface DcToken {
  token: string;
  username: string;
  /** Personal tokens also work as the Basic password of their user; project and repository tokens only as Bearer. */
  kind: 'personal' | 'project' | 'repository';
}

export interface DataCenterOptions {
  /** `''` or `/bitbucket`: every route lives under it. */
  contextPath?: string;
  tokens?: DcToken[];
  users?: Array<{ username: string; password: string }>;
  /** The largest page served; a bigger `limit` is lowered to it (default 1000). */
  maxPageSize?: number;
  /** What a lightweight tag's `hash` is: null (older servers) or absent (9.x). */
  tagHash?: 'null' | 'absent';
  /** The OAuth 2.0 provider of an incoming application link; its tokens are accepted as Bearer. */
  oauth?: DcOAuthOptions;
  /** An archive request without a valid credential: 401 with an errors body (default), or a 302 to `{context}/login`. */
  unauthenticatedArchive?: '401' | 'login-redirect';
  /** After this many failed logins, every failed one asks for a CAPTCHA (as Data Center locks an account). */
  captchaAfter?: number;
}

export interface DataCenter {
  /** `bodyFault`: how to break the body of an archive answer (a fault drawn by the host). */
  handle(request: IncomingMessage, response: ServerResponse, bodyFault?: BodyFault): Promise<boolean>;
  log: { failedAuth: number };
  oauth: DcOAuthServer | undefined;
}

const E = 'com.atlassian.bitbucket';

export function createDataCenter(repos: Map<string, BuiltRepo>, options: DataCenterOptions = {}): DataCenter {
  const context = (options.contextPath ?? '').replace(/\/+$/, '');
  const log = { failedAuth: 0 };
  const oauth = options.oauth === undefined ? undefined : new DcOAuthServer(options.oauth, context);
  const findRepo = (key: string, slug: string) =>
    [...repos.values()].find((repo) => repo.slug === slug && (key.startsWith('~') ? repo.workspace === key : repo.workspace.toUpperCase() === key.toUpperCase()));

  const authenticate = (request: IncomingMessage) => authenticateRequest(request, options, oauth);

  const failAuth = (response: ServerResponse): true => {
    log.failedAuth++;
    if (options.captchaAfter !== undefined && log.failedAuth > options.captchaAfter) {
      return sendErrors(response, 401, 'CAPTCHA required: log in through the web interface first.', `${E}.auth.CaptchaRequiredAuthenticationException`);
    }
    return sendErrors(response, 401, 'Authentication failed. Please check your credentials and try again.', `${E}.auth.IncorrectPasswordAuthenticationException`);
  };

  async function handle(request: IncomingMessage, response: ServerResponse, bodyFault?: BodyFault): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://dc.invalid');
    response.setHeader('x-arequestid', `@EMU${Date.now().toString(36)}`);
    if (oauth !== undefined && (await oauth.handle(request, response, url))) return true;
    if (url.pathname === `${context}/login`) return html(response, 200, 'Log in - Bitbucket');
    if (!url.pathname.startsWith(`${context}/rest/`)) return htmlNotFound(response);
    const route = url.pathname.slice(context.length);
    if (/^\/rest\/api\/(latest|1\.0)\/application-properties$/.test(route)) {
      // No authentication needed; a credential that is sent is still checked, and named in X-AUSERNAME.
      const caller = authenticate(request);
      if (caller === 'failed') return failAuth(response);
      if (caller !== undefined) response.setHeader('x-ausername', encodeURIComponent(caller));
      return sendJson(response, 200, { version: '9.4.0', buildNumber: '9004000', buildDate: '1700000000000', displayName: 'Bitbucket' });
    }
    const match = /^\/rest\/api\/(?:latest|1\.0)\/projects\/([^/]+)\/repos\/([^/]+)\/(tags|branches|commits\/[^/]+|archive)$/.exec(route);
    if (!match) return htmlNotFound(response);
    const user = authenticate(request);
    if (match[3] === 'archive' && (user === undefined || user === 'failed') && options.unauthenticatedArchive === 'login-redirect') {
      response.writeHead(302, { location: `${context}/login?next=${encodeURIComponent(url.pathname)}` });
      response.end();
      return true;
    }
    if (user === 'failed') return failAuth(response);
    if (user === undefined) return sendErrors(response, 401, 'You are not permitted to access this resource', 'com.atlassian.plugins.rest.api.security.exception.AuthenticationRequiredException');
    response.setHeader('x-ausername', encodeURIComponent(user));
    const [key, slug] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
    const repo = findRepo(key, slug);
    if (repo === undefined) return sendErrors(response, 404, `Repository ${key}/${slug} does not exist.`, `${E}.repository.NoSuchRepositoryException`);
    const what = match[3]!;
    if (what === 'tags' || what === 'branches') return sendJson(response, 200, await refPage(repo, what, url, options));
    if (what === 'archive') return sendArchive(response, repo, url, bodyFault);
    const id = decodeURIComponent(what.slice('commits/'.length));
    const commit = findCommit(repo, id);
    if (commit === undefined) return sendErrors(response, 404, `Commit '${id}' does not exist in repository '${slug}'.`, `${E}.commit.NoSuchCommitException`);
    return sendJson(response, 200, { id: commit, displayId: commit.slice(0, 11), message: 'fixture', parents: [] });
  }
  return { handle, log, oauth };
}

/** The user of a request's credential, 'failed' for a wrong one, undefined for none. */
function authenticateRequest(request: IncomingMessage, options: DataCenterOptions, oauth: DcOAuthServer | undefined): string | 'failed' | undefined {
  const [scheme, value = ''] = (request.headers.authorization ?? '').split(' ', 2);
  if (scheme === undefined || scheme === '') return undefined;
  if (scheme === 'Bearer') return options.tokens?.find((token) => token.token === value)?.username ?? oauth?.userOf(value) ?? 'failed';
  if (scheme === 'Basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const [user, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    const ok =
      (options.users ?? []).some((entry) => entry.username === user && entry.password === secret) ||
      (options.tokens ?? []).some((token) => token.kind === 'personal' && token.username === user && token.token === secret);
    return ok ? user : 'failed';
  }
  return 'failed';
}

/** Tags (with their tag object, read from git) or branches, filtered by a case-insensitive "contains", then paged. */
async function refPage(repo: BuiltRepo, kind: 'tags' | 'branches', url: URL, options: DataCenterOptions): Promise<unknown> {
  const lines = (await git(repo.dir, ['for-each-ref', `refs/${kind === 'tags' ? 'tags' : 'heads'}`, '--format=%(refname:lstrip=2) %(objectname) %(*objectname)'])).split('\n');
  const filter = (url.searchParams.get('filterText') ?? '').toLowerCase();
  const refs = lines
    .filter((line) => line !== '')
    .map((line) => line.split(' ') as [string, string, string | undefined])
    .filter(([name]) => name.toLowerCase().includes(filter))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 25) || 25, 1), options.maxPageSize ?? 1000);
  const start = Math.max(Number(url.searchParams.get('start') ?? 0) || 0, 0);
  const values = refs.slice(start, start + limit).map(([name, object, peeled]) => {
    const annotated = peeled !== undefined && peeled !== '';
    const commit = annotated ? peeled : object;
    const ref: Record<string, unknown> = { id: `refs/${kind === 'tags' ? 'tags' : 'heads'}/${name}`, displayId: name, type: kind === 'tags' ? 'TAG' : 'BRANCH', latestCommit: commit, latestChangeset: commit };
    if (kind === 'branches') ref.isDefault = name === 'main';
    else if (annotated) ref.hash = object;
    else if ((options.tagHash ?? 'null') === 'null') ref.hash = null;
    return ref;
  });
  const isLastPage = start + limit >= refs.length;
  return { size: values.length, limit, isLastPage, start, filter: filter || null, values, ...(isLastPage ? {} : { nextPageStart: start + limit }) };
}

/** `at`: a commit (unique prefix of 7+ hex), refs/heads/x, refs/tags/x, a short name; absent: the default branch. */
function findCommit(repo: BuiltRepo, at: string): string | undefined {
  if (/^[0-9a-f]{7,40}$/.test(at)) {
    const found = repo.commits.filter((commit) => commit.startsWith(at));
    return found.length === 1 ? found[0] : undefined;
  }
  return undefined;
}

function resolveAt(repo: BuiltRepo, at: string | null): string | undefined {
  if (at === null) return repo.branches.get('main');
  if (at.startsWith('refs/heads/')) return repo.branches.get(at.slice(11));
  if (at.startsWith('refs/tags/')) return repo.tags.get(at.slice(10));
  return findCommit(repo, at) ?? repo.tags.get(at) ?? repo.branches.get(at);
}

/** Real `git archive`, with the requested prefix (a missing trailing `/` added) or none: what the server runs. */
async function sendArchive(response: ServerResponse, repo: BuiltRepo, url: URL, fault?: BodyFault): Promise<true> {
  const format = url.searchParams.get('format') ?? 'zip';
  if (!['zip', 'tar', 'tar.gz', 'tgz'].includes(format)) return sendErrors(response, 400, `Unsupported archive format: ${format}`, `${E}.validation.ArgumentValidationException`);
  const commit = resolveAt(repo, url.searchParams.get('at'));
  if (commit === undefined) return sendErrors(response, 404, `Commit '${url.searchParams.get('at')}' does not exist in repository '${repo.slug}'.`, `${E}.commit.NoSuchCommitException`);
  const prefix = url.searchParams.get('prefix');
  const args = ['-C', repo.dir, 'archive', `--format=${format === 'zip' ? 'zip' : 'tar'}`, ...(prefix ? [`--prefix=${prefix.endsWith('/') ? prefix : `${prefix}/`}`] : []), commit];
  const child = spawn('git', args, { env: { PATH: process.env.PATH, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  const extension = format === 'tgz' ? 'tar.gz' : format;
  const headers = { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${repo.slug}-${commit}.${extension}"` };
  const body = format === 'tar.gz' || format === 'tgz' ? child.stdout.pipe(createGzip()) : child.stdout;
  if (fault?.kind === 'truncate' || fault?.kind === 'reset') return sendCut(response, headers, body, fault.kind);
  response.writeHead(200, headers);
  await new Promise<void>((resolve, reject) => {
    body.on('error', reject).pipe(response).on('finish', resolve).on('error', reject);
  });
  return true;
}

/** A 200 whose body stops half-way (a killed `git archive`): a clean close, or a TCP reset. */
async function sendCut(response: ServerResponse, headers: Record<string, string>, body: NodeJS.ReadableStream, kind: 'truncate' | 'reset'): Promise<true> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const whole = Buffer.concat(chunks);
  response.writeHead(200, { ...headers, 'content-length': String(whole.length) });
  const socket = response.socket!;
  response.write(whole.subarray(0, Math.floor(whole.length / 2)), () => (kind === 'reset' ? socket.resetAndDestroy() : socket.end()));
  return true;
}

function htmlNotFound(response: ServerResponse): true {
  return html(response, 404, 'Page not found - Bitbucket');
}

function html(response: ServerResponse, status: number, title: string): true {
  response.writeHead(status, { 'content-type': 'text/html;charset=UTF-8' });
  response.end(`<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`);
  return true;
}

function sendErrors(response: ServerResponse, status: number, message: string, exceptionName: string): true {
  return sendJson(response, status, { errors: [{ context: null, message, exceptionName }] });
}

function sendJson(response: ServerResponse, status: number, body: unknown): true {
  response.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' });
  response.end(JSON.stringify(body));
  return true;
}
