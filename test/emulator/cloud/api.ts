import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BuiltRepo } from '../git-fixtures.js';
import { isAuthorized, type CloudState } from './auth.js';

/** The REST API 2.0 part of the emulator: refs, commits, the current user. */
export async function handleApi(state: CloudState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', state.apiUrl);
  if (!isAuthorized(state, request)) {
    const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    return sendError(response, 401, state.oauth?.check(token) === 'expired' ? 'Access token expired. Use your refresh token to obtain a new access token.' : 'Access token is invalid.');
  }
  if (url.pathname === '/2.0/user') {
    return sendJson(response, 200, {
      type: 'user',
      uuid: '{00000000-0000-4000-8000-000000000001}',
      username: 'fixture-user',
      display_name: 'Fixture User',
      account_id: '557058:fixture',
    });
  }
  const match = /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/(refs\/tags|refs\/branches|commit)(?:\/(.+))?$/.exec(url.pathname);
  if (!match) return sendError(response, 404, 'Resource not found');
  const repo = state.repos.get(`${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}`);
  if (!repo) return sendError(response, 404, 'Repository not found');
  const kind = match[3]!;
  const rawName = match[4];
  if (kind === 'commit') {
    const prefix = decodeURIComponent(rawName ?? '');
    const found = /^[0-9a-f]{7,40}$/.test(prefix) ? repo.commits.filter((commit) => commit.startsWith(prefix)) : [];
    if (found.length !== 1) return sendError(response, 404, `Commit not found`);
    return sendJson(response, 200, { type: 'commit', hash: found[0], date: repo.dates.get(found[0]!) });
  }
  const refs = kind === 'refs/tags' ? repo.tags : repo.branches;
  const type = kind === 'refs/tags' ? 'tag' : 'branch';
  if (rawName !== undefined) {
    // A "/" encoded inside the name segment is not a ref name here (how Bitbucket reads it is unsettled).
    const name = decodeURIComponent(rawName);
    const commit = rawName.includes('%2F') || rawName.includes('%2f') ? undefined : refs.get(name);
    if (commit === undefined) return sendError(response, 404, `${type} "${name}" not found`);
    return sendJson(response, 200, refObject(repo, type, name, commit));
  }
  return sendJson(response, 200, listPage(repo, refs, type, url, state.options.maxPagelen ?? 100));
}

function listPage(repo: BuiltRepo, refs: Map<string, string>, type: string, url: URL, maxPagelen: number): unknown {
  const pagelen = Math.min(Math.max(Number(url.searchParams.get('pagelen') ?? 10) || 10, 1), maxPagelen);
  const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
  let entries = [...refs.entries()];
  const q = url.searchParams.get('q');
  if (q !== null) {
    const wanted = /^name\s*=\s*"((?:[^"\\]|\\.)*)"$/.exec(q)?.[1]?.replace(/\\(.)/g, '$1');
    entries = entries.filter(([name]) => name === wanted);
  }
  if (url.searchParams.get('sort') === '-target.date') {
    entries.sort(([nameA, a], [nameB, b]) => repo.commits.indexOf(b) - repo.commits.indexOf(a) || (nameA < nameB ? -1 : 1));
  }
  const values = entries.slice((page - 1) * pagelen, page * pagelen).map(([name, commit]) => refObject(repo, type, name, commit));
  const result: Record<string, unknown> = { pagelen, page, size: entries.length, values };
  if (page * pagelen < entries.length) {
    const next = new URL(url);
    next.searchParams.set('page', String(page + 1));
    result.next = next.toString();
  }
  return result;
}

function refObject(repo: BuiltRepo, type: string, name: string, commit: string): unknown {
  return {
    type,
    name,
    target: { type: 'commit', hash: commit, date: repo.dates.get(commit) },
    links: { self: { href: `/repositories/${repo.workspace}/${repo.slug}/refs/${type}s/${name}` } },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, status: number, message: string): void {
  sendJson(response, status, { type: 'error', error: { message } });
}
