/** The REST API 2.0 server of the emulator: refs, commits and the current user. */
import type { IncomingMessage } from 'node:http';
import { commitDate, type BuiltRepo } from './git-repos.js';
import { isAuthorized } from './emulator-auth.js';
import { commitByPrefix, decodeSegments } from './emulator-refs.js';
import type { Reply } from './emulator-reply.js';
import type { EmulatorContext } from './emulator-types.js';

type RefType = 'tag' | 'branch';
type RefEntry = [name: string, hash: string];

const FIXTURE_USER = {
  type: 'user',
  uuid: '{6f1e3b1c-0000-4000-8000-000000000001}',
  username: 'fixture-user',
  nickname: 'fixture-user',
  display_name: 'Fixture User',
  account_id: '557058:6f1e3b1c-0000-4000-8000-000000000001',
};

/** Answers one request to the API host. */
export async function answerApi(context: EmulatorContext, request: IncomingMessage, reply: Reply): Promise<void> {
  const url = new URL(request.url ?? '/', context.urls.api);
  if (request.method !== 'GET' && request.method !== 'HEAD') return reply.jsonError(405, `${request.method} is not supported by the emulator`);
  if (!isAuthorized(context.options, request)) return reply.jsonError(401, 'Access token expired or invalid. Authentication required.');
  const segments = decodeSegments(url.pathname.replace(/\/$/, ''));
  const [version, resource, workspace, slug, section, kind, name, ...extra] = segments ?? [];
  if (version === '2.0' && resource === 'user' && workspace === undefined) return reply.json(200, FIXTURE_USER);
  if (version !== '2.0' || resource !== 'repositories' || !workspace || !slug) {
    return reply.jsonError(404, `Resource not found: ${url.pathname}`);
  }
  const repo = context.repos.get(`${workspace}/${slug}`);
  if (!repo) return reply.jsonError(404, `Repository ${workspace}/${slug} not found`);

  if (section === 'commit' && kind !== undefined && name === undefined) {
    const hash = commitByPrefix(repo, kind, 7);
    if (!hash) return reply.jsonError(404, `Commit "${kind}" not found in ${workspace}/${slug}`);
    return reply.json(200, { type: 'commit', hash, date: commitDate(repo, hash) });
  }
  if (section === 'refs' && (kind === 'tags' || kind === 'branches') && extra.length === 0) {
    const type: RefType = kind === 'tags' ? 'tag' : 'branch';
    const refs = type === 'tag' ? repo.tags : repo.branches;
    if (name === undefined) return listRefs(context, repo, type, [...refs], url, reply);
    const hash = refs.get(name);
    if (!hash) return reply.jsonError(404, `No ${type} named "${name}" in ${workspace}/${slug}`);
    return reply.json(200, refJson(context, repo, type, [name, hash]));
  }
  return reply.jsonError(404, `Resource not found: ${url.pathname}`);
}

/** One page of a ref list, with `q` filter, `sort` and an absolute `next` link. */
function listRefs(context: EmulatorContext, repo: BuiltRepo, type: RefType, refs: RefEntry[], url: URL, reply: Reply): Promise<void> {
  const pagelen = Math.min(Math.max(Number.parseInt(url.searchParams.get('pagelen') ?? '', 10) || 10, 1), 100);
  const page = Math.max(Number.parseInt(url.searchParams.get('page') ?? '', 10) || 1, 1);
  const query = url.searchParams.get('q');
  const matches = query === null ? () => true : parseNameQuery(query);
  if (!matches) return reply.jsonError(400, `Invalid query "${query}": the emulator knows name = "…", name != "…" and name ~ "…"`);
  const order = refOrder(repo, url.searchParams.get('sort'));
  if (!order) return reply.jsonError(400, `Invalid sort "${url.searchParams.get('sort')}": the emulator knows name and target.date`);

  const selected = refs.filter(([name]) => matches(name)).sort(order);
  const body: Record<string, unknown> = {
    pagelen,
    page,
    size: selected.length,
    values: selected.slice((page - 1) * pagelen, page * pagelen).map((entry) => refJson(context, repo, type, entry)),
  };
  if (page * pagelen < selected.length) {
    const next = new URL(url);
    next.searchParams.set('page', String(page + 1));
    body.next = next.href;
  }
  return reply.json(200, body);
}

/** A predicate for BBQL `name <op> "value"`, or undefined when `query` is anything else. */
function parseNameQuery(query: string): ((name: string) => boolean) | undefined {
  const match = /^\s*name\s*(=|!=|~|!~)\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(query);
  if (!match) return undefined;
  const [, operator, quoted = ''] = match;
  const value = quoted.replace(/\\(.)/g, '$1');
  // BBQL's ~ is a case-insensitive "contains".
  const contains = (name: string) => name.toLowerCase().includes(value.toLowerCase());
  if (operator === '=') return (name) => name === value;
  if (operator === '!=') return (name) => name !== value;
  if (operator === '~') return contains;
  return (name) => !contains(name);
}

/** A comparator for `sort` (a field, `-` for descending), ties by name; undefined for unknown fields. */
function refOrder(repo: BuiltRepo, sort: string | null): ((a: RefEntry, b: RefEntry) => number) | undefined {
  const byName = ([a]: RefEntry, [b]: RefEntry) => (a < b ? -1 : a > b ? 1 : 0);
  // Commit i is dated i hours after commit 0, so the index orders by date.
  const byDate = ([, a]: RefEntry, [, b]: RefEntry) => repo.commits.indexOf(a) - repo.commits.indexOf(b);
  switch (sort ?? 'name') {
    case 'name':
      return byName;
    case '-name':
      return (a, b) => byName(b, a);
    case 'target.date':
      return (a, b) => byDate(a, b) || byName(a, b);
    case '-target.date':
      return (a, b) => byDate(b, a) || byName(a, b);
    default:
      return undefined;
  }
}

function refJson(context: EmulatorContext, repo: BuiltRepo, type: RefType, [name, hash]: RefEntry): unknown {
  const self = `${context.urls.api}/2.0/repositories/${repo.workspace}/${repo.slug}/refs/${type}s/${encodeURIComponent(name)}`;
  return {
    type,
    name,
    target: { type: 'commit', hash, date: commitDate(repo, hash) },
    links: { self: { href: self } },
  };
}
