/** Bitbucket Cloud's web host (OAuth pages, sign-in page, /get/ archives) and the storage host archives may redirect to. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findCommit, type ArchiveStore } from '../archives.js';
import type { FaultList } from '../faults.js';
import { isAuthorized, type CloudState } from './auth.js';

export interface WebContext {
  state: CloudState;
  archives: ArchiveStore;
  faults: FaultList;
  urls: { web: string; cdn: string };
}

export async function handleWeb(context: WebContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { state, urls } = context;
  const url = new URL(request.url ?? '/', urls.web);
  if (state.oauth !== undefined && (await state.oauth.handle(request, response, url))) return;
  if (state.oauth1 !== undefined && (await state.oauth1.handle(request, response, url))) return;
  if (url.pathname.startsWith('/account/signin')) {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!DOCTYPE html><html><head><title>Log in to Bitbucket</title></head><body><form>Sign in</form></body></html>');
    return;
  }
  const match = /^\/([^/]+)\/([^/]+)\/get\/(.+)\.tar\.gz$/.exec(url.pathname);
  const repoName = match ? `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}` : '';
  const repo = state.repos.get(repoName);
  if (!isAuthorized(state, request)) return refuseArchive(context, response, url);
  const commit = repo && match ? findCommit(repo, decodeURIComponent(match[3]!)) : undefined;
  if (repo === undefined || commit === undefined) {
    response.writeHead(404, { 'content-type': 'text/html' });
    response.end('<html><body>Not found</body></html>');
    return;
  }
  if (state.options.archiveRedirect) {
    response.writeHead(302, { location: `${urls.cdn}/archive/${repo.workspace}/${repo.slug}/${commit}.tar.gz?sig=abc` });
    response.end();
    return;
  }
  await context.archives.send(response, repoName, commit, context.faults.bodyFault(response), state.options.bytesPerSecond);
}

/** An archive request without a valid credential: 401, or (as Cloud does) a 302 to the sign-in page. */
function refuseArchive(context: WebContext, response: ServerResponse, url: URL): void {
  if ((context.state.options.unauthenticatedArchive ?? 'signin-redirect') === '401') {
    response.writeHead(401, { 'content-type': 'text/html' });
    response.end('<html><body>Unauthorized</body></html>');
  } else {
    response.writeHead(302, { location: `${context.urls.web}/account/signin/?next=${encodeURIComponent(url.pathname)}` });
    response.end();
  }
}

export async function handleCdn(context: WebContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', context.urls.cdn);
  // Like a signed S3 URL: a forwarded Authorization header is refused outright.
  if (request.headers.authorization !== undefined) {
    response.writeHead(400, { 'content-type': 'application/xml' });
    response.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
    return;
  }
  const match = /^\/archive\/([^/]+)\/([^/]+)\/([0-9a-f]{40})\.tar\.gz$/.exec(url.pathname);
  const repoName = match ? `${match[1]}/${match[2]}` : '';
  if (!match || !context.state.repos.has(repoName)) {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('no such object');
    return;
  }
  await context.archives.send(response, repoName, match[3]!, context.faults.bodyFault(response), context.state.options.bytesPerSecond);
}
