import type { Readable } from 'node:stream';
import { ConnectionError, get, readText } from '../net/request.js';
import { errorMessage } from './api.js';
import { missingCredential, type Credential, type CredentialProvider } from '../auth/sources.js';
import { NpkgError } from '../util/errors.js';
import { retryDelayMs, sleep } from '../net/retry.js';
import { safeJson } from '../util/json-file.js';
import type { ServerKind } from '../util/server-kind.js';
import { dcErrorText, isCaptchaRequired } from './datacenter/answers.js';

export interface HttpSettings {
  /** How error bodies and sign-in redirects look (default cloud). */
  kind?: ServerKind;
  retries: number;
  timeoutMs: number;
  onRetry?: (message: string) => void;
  onDebug?: (line: string) => void;
}

export interface ArchiveResponse {
  stream: Readable;
  /** Content-Length when the server sent one. */
  size: number | undefined;
}

/**
 * Talks to Bitbucket: adds the credential, retries what may succeed later,
 * and turns answers into NpkgErrors that say what to do.
 */
export class BitbucketHttp {
  constructor(
    private readonly settings: HttpSettings,
    private readonly credentials: CredentialProvider,
  ) {}

  /** GET a JSON document of the REST API; undefined on 404. Retried on network errors, 429 and 5xx. */
  async getJson(url: string, workspace: string, label: string): Promise<unknown> {
    return (await this.getJsonAnswer(url, workspace, label))?.json;
  }

  /** getJson with the answer's headers (Data Center names the user in X-AUSERNAME). */
  async getJsonAnswer(url: string, workspace: string, label: string): Promise<{ json: unknown; headers: Answer['headers'] } | undefined> {
    const kind = this.settings.kind ?? 'cloud';
    return this.withCredential(workspace, label, (credential) =>
      this.withRetries(`GET ${redact(url)}`, async () => {
        const response = await this.get(url, { authorization: authorizationFor(credential, url), accept: 'application/json' });
        const body = await readText(response.body).catch((error: unknown) => {
          throw networkError(error, url);
        });
        this.settings.onDebug?.(`GET ${redact(url)} → ${response.statusCode}`);
        if (response.statusCode === 404 && !(kind === 'datacenter' && isHtml(response.headers))) return undefined;
        checkStatus({ ...response, body }, credential, label, 'json', kind);
        try {
          return { json: JSON.parse(body) as unknown, headers: response.headers };
        } catch (error) {
          throw new NpkgError('SERVER', `the API answered ${redact(url)} with invalid JSON`, { cause: error, detail: [excerpt(body)] });
        }
      }),
    );
  }

  /** Opens an archive download; the caller retries the whole download on a retryable error. */
  async openArchive(url: string, workspace: string, label: string, onSent?: () => void): Promise<ArchiveResponse> {
    return this.withCredential(workspace, label, async (credential) => {
      const response = await this.get(url, { authorization: authorizationFor(credential, url) }, onSent);
      const finalUrl = response.url;
      this.settings.onDebug?.(`GET ${redact(url)} → ${response.statusCode}${finalUrl !== url ? ` (via ${redact(finalUrl)})` : ''}`);
      const refusedBySignIn = isSignIn(finalUrl, this.settings.kind ?? 'cloud');
      const html = isHtml(response.headers);
      if (response.statusCode >= 400 || response.statusCode < 200 || refusedBySignIn || html) {
        const body = await readExcerpt(response.body);
        if (refusedBySignIn || (html && response.statusCode < 400)) throw refused(credential, label, [`GET ${redact(finalUrl)} → sign-in page`]);
        if (response.statusCode === 404) {
          const said = this.settings.kind === 'datacenter' ? dcErrorText(body, String(response.headers['content-type'] ?? '')) : undefined;
          throw new NpkgError(
            'REPO_NOT_FOUND',
            `archive of ${label} not found at ${redact(url)}${said === undefined ? '' : ` (${said})`}: the commit or the repository is gone (rewritten history, renamed or deleted); \`npkg update\` resolves the ref again`,
            { detail: [body] },
          );
        }
        checkStatus({ statusCode: response.statusCode, headers: response.headers, url: finalUrl, body }, credential, label, 'archive', this.settings.kind ?? 'cloud');
      }
      const length = Number(response.headers['content-length']);
      return { stream: response.body, size: Number.isFinite(length) && length > 0 ? length : undefined };
    });
  }

  private get(url: string, headers: Record<string, string>, onSent?: () => void) {
    return get(url, { headers: { 'user-agent': 'npkg', ...headers }, timeoutMs: this.settings.timeoutMs, ...(onSent ? { onSent } : {}) }).catch((error: unknown) => {
      throw networkError(error, url);
    });
  }

  /** Runs `work`, retrying with a fresh start on retryable errors (network, 429, 5xx). */
  async withRetries<T>(what: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof NpkgError) || !error.retryable || attempt > this.settings.retries) throw error;
        const delay = retryDelayMs(attempt, error.retryAfterMs);
        this.settings.onRetry?.(`${what}: ${error.message}; retry ${attempt} of ${this.settings.retries} in ${Math.round(delay / 100) / 10} s`);
        await sleep(delay);
      }
    }
  }

  private async withCredential<T>(workspace: string, label: string, work: (credential: Credential) => Promise<T>): Promise<T> {
    const credential = await this.credentials.get(workspace);
    if (credential === undefined) throw missingCredential(workspace, this.settings.kind);
    this.settings.onDebug?.(`${label}: credential from ${credential.source} (${credential.fingerprint})`);
    try {
      return await work(credential);
    } catch (error) {
      if (!(error instanceof NpkgError) || error.code !== 'CREDENTIAL_REFUSED' || this.credentials.refused === undefined) throw error;
      // One retry with a refreshed credential (an expired OAuth token), never more.
      const refreshed = await this.credentials.refused(workspace, credential);
      if (refreshed === undefined) throw error;
      return work(refreshed);
    }
  }
}

/** The Authorization header for one request (OAuth 1.0a signs each one). */
function authorizationFor(credential: Credential, url: string): string {
  return credential.sign?.('GET', url) ?? credential.authorization;
}

/** The parts of a response that decide what it means. */
interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  body: string;
}

/**
 * A redirect that ends on the sign-in page means the credential was refused:
 * Cloud's `/account/signin`, Data Center's `{context}/login`.
 */
function isSignIn(finalUrl: string, kind: ServerKind): boolean {
  const pathname = new URL(finalUrl).pathname;
  return kind === 'datacenter' ? /\/login\/?$/.test(pathname) : pathname.startsWith('/account/signin');
}

function isHtml(headers: Answer['headers']): boolean {
  return /text\/html/i.test(String(headers['content-type'] ?? ''));
}

function checkStatus(response: Answer, credential: Credential, label: string, kind: 'json' | 'archive', server: ServerKind): void {
  const status = response.statusCode;
  if (status >= 200 && status < 300) {
    if (kind === 'json' && isHtml(response.headers)) {
      throw refused(credential, label, [`${redact(response.url)} → HTML instead of JSON`]);
    }
    return;
  }
  const detail = [`GET ${redact(response.url)} → ${status}`, excerpt(response.body)];
  const said = server === 'datacenter' ? dcErrorText(response.body, String(response.headers['content-type'] ?? '')) : undefined;
  if (status === 401 || status === 403) {
    // Retrying would only keep the account locked: the user has to sign in once in a browser.
    const captcha = server === 'datacenter' && isCaptchaRequired(safeJson(response.body));
    throw refused(credential, label, detail, captcha ? `${said}; sign in to Bitbucket once in a browser to clear the CAPTCHA` : said);
  }
  const retryable = status === 429 || status >= 500;
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  let message = `Bitbucket answered ${status} for ${label}`;
  // Error bodies are shown by their message, never raw (Data Center: errors[].message, or an HTML page's title).
  const apiMessage = server === 'datacenter' ? said : errorMessage(safeJson(response.body));
  if (apiMessage !== undefined) message += `: ${apiMessage}`;
  if (server === 'datacenter' && status === 404) message += ': check BITBUCKET_URL, with its context path if Bitbucket has one';
  if (status === 429) message += ' (rate limit: wait and retry, or use --concurrency 1)';
  throw new NpkgError('SERVER', message, { detail, retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
}

function refused(credential: Credential, label: string, detail: string[], said?: string): NpkgError {
  return new NpkgError(
    'CREDENTIAL_REFUSED',
    `Bitbucket refused the credential from ${credential.source} for ${label}${said === undefined ? '' : ` (${said})`}: check that it can read the repository, or run \`npkg login\``,
    { detail: [...detail, `credential ${credential.fingerprint}`] },
  );
}

/** Network-level failures (refused, reset, timed out) may succeed on a retry. */
export function networkError(error: unknown, url: string): NpkgError {
  if (error instanceof NpkgError) return error;
  const code = error instanceof ConnectionError ? error.code : String((error as { code?: unknown } | null)?.code ?? '');
  const proxy = error instanceof ConnectionError && error.proxy !== undefined ? ` through the proxy ${error.proxy}` : '';
  const host = `${new URL(url).host}${proxy}`;
  const message =
    code === 'ETIMEDOUT'
      ? `no answer from ${host} within the network timeout (--network-timeout)`
      : `network error talking to ${host}: ${code || (error instanceof Error ? error.message : String(error))}`;
  return new NpkgError('NETWORK', message, { retryable: true, cause: error, detail: [`GET ${redact(url)}`] });
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A URL safe to print: no user info, no query values that could be secrets. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    for (const key of [...parsed.searchParams.keys()]) {
      if (!['pagelen', 'sort', 'page', 'q', 'next', 'filterText', 'boostMatches', 'orderBy', 'start', 'limit', 'at', 'format', 'prefix'].includes(key)) parsed.searchParams.set(key, '…');
    }
    return parsed.toString();
  } catch (error) {
    if (error instanceof TypeError) return '(invalid URL)';
    throw error;
  }
}

async function readExcerpt(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 300) break;
  }
  stream.destroy();
  return excerpt(text);
}

function excerpt(body: string): string {
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
}
