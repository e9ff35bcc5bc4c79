/** The web host (archives, sign-in page) and the cdn host archives may redirect to. */
import { mkdir, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { gitArchiveGz, type BuiltRepo } from './git-repos.js';
import { isAuthorized } from './emulator-auth.js';
import { decodeSegment, resolveArchiveRef } from './emulator-refs.js';
import type { Reply } from './emulator-reply.js';
import type { EmulatorContext } from './emulator-types.js';

/** Makes each commit's .tar.gz once, under `folder`; concurrent first requests share one build. */
export class ArchiveStore {
  private readonly builds = new Map<string, Promise<string>>();

  constructor(private readonly folder: string) {}

  file(repo: BuiltRepo, commit: string): Promise<string> {
    const key = `${repo.workspace}/${repo.slug}/${commit}`;
    let build = this.builds.get(key);
    if (!build) {
      build = this.build(repo, commit);
      // A failed build is forgotten, so the next request tries again instead of failing forever.
      build.catch(() => this.builds.delete(key));
      this.builds.set(key, build);
    }
    return build;
  }

  /** Waits for builds in flight, so that removing the folder does not race with them. */
  async idle(): Promise<void> {
    // Their failures have already reached the requests that started them.
    await Promise.allSettled(this.builds.values());
  }

  private async build(repo: BuiltRepo, commit: string): Promise<string> {
    const file = path.join(this.folder, repo.workspace, repo.slug, `${commit}.tar.gz`);
    await mkdir(path.dirname(file), { recursive: true });
    await gitArchiveGz(repo, commit, file);
    return file;
  }
}

/** Answers one request to the web host: `/{ws}/{slug}/get/{ref}.tar.gz` and `/account/signin/`. */
export async function answerWeb(context: EmulatorContext, request: IncomingMessage, reply: Reply): Promise<void> {
  const url = new URL(request.url ?? '/', context.urls.web);
  if (url.pathname === '/account/signin/' || url.pathname === '/account/signin') {
    return reply.html(200, 'Log in to continue - Bitbucket', 'Sign in with your Atlassian account.');
  }
  const match = /^\/([^/]+)\/([^/]+)\/get\/([^/]+)\.tar\.gz$/.exec(url.pathname);
  if (!match) return reply.html(404, 'Page not found', 'This page does not exist.');
  if (!isAuthorized(context.options, request)) {
    if (context.options.unauthenticatedArchive === '401') return reply.html(401, 'Unauthorized', 'Log in to download this file.');
    // Bitbucket sends the browser to its sign-in page, which would come back here afterwards.
    const next = encodeURIComponent(url.pathname).replaceAll('%2F', '/');
    return reply.redirect(`${context.urls.web}/account/signin/?next=${next}`);
  }
  const [workspace, slug, ref] = match.slice(1).map((part) => decodeSegment(part));
  const repo = workspace && slug ? context.repos.get(`${workspace}/${slug}`) : undefined;
  const commit = repo && ref !== undefined ? resolveArchiveRef(repo, ref) : undefined;
  if (!repo || !commit) return reply.html(404, 'Page not found', 'That repository or revision does not exist.');
  if (context.options.archiveRedirect) {
    return reply.redirect(`${context.urls.cdn}/archive/${repo.workspace}/${repo.slug}/${commit}.tar.gz?sig=abc`);
  }
  return sendArchive(context, repo, commit, reply);
}

/**
 * Answers one request to the cdn host, which needs no credential: the
 * signature in the URL is the credential. Like S3's signed URLs it
 * refuses a forwarded Authorization header, so a client that leaks it fails.
 */
export async function answerCdn(context: EmulatorContext, request: IncomingMessage, reply: Reply): Promise<void> {
  const url = new URL(request.url ?? '/', context.urls.cdn);
  const match = /^\/archive\/([^/]+)\/([^/]+)\/([0-9a-f]{40})\.tar\.gz$/.exec(url.pathname);
  const repo = match ? context.repos.get(`${match[1]}/${match[2]}`) : undefined;
  const commit = match?.[3];
  if (!repo || !commit || !repo.commits.includes(commit)) return reply.text(404, 'NoSuchKey: the specified key does not exist.');
  if (url.searchParams.get('sig') !== 'abc') return reply.text(403, 'AccessDenied: missing or wrong signature.');
  if (request.headers.authorization !== undefined) {
    return reply.text(400, 'InvalidArgument: Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  return sendArchive(context, repo, commit, reply);
}

async function sendArchive(context: EmulatorContext, repo: BuiltRepo, commit: string, reply: Reply): Promise<void> {
  const file = await context.archiveFile(repo, commit);
  const { size } = await stat(file);
  const name = `${repo.workspace}-${repo.slug}-${commit.slice(0, 12)}.tar.gz`;
  const headers = { 'content-type': 'application/x-gzip', 'content-disposition': `attachment; filename="${name}"` };
  return reply.file(200, headers, file, size);
}
