/**
 * Parsers for Bitbucket Data Center answers (REST 1.0). Pure. What does not
 * have the documented shape is an unexpected answer (a server error), never
 * "not found": a bad page must not turn into a wrong resolution.
 */
import { isRefName, unexpectedAnswer, type RefInfo, type RefPage } from '../api.js';
import { withStart } from './urls.js';
import { safeJson } from '../../util/json-file.js';

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * One page of `…/tags` or `…/branches`: `values[].displayId` and
 * `latestCommit` (never `hash`: the tag object, or null, or absent).
 * `next` is the same URL at `nextPageStart`; a page without one is the last,
 * whatever `isLastPage` says (BSERV-12725), and a server that lowered
 * `limit` changes nothing.
 */
export function parseDcRefPage(json: unknown, pageUrl: string, repo: string): RefPage {
  const page = json as { values?: unknown; isLastPage?: unknown; nextPageStart?: unknown } | null;
  if (page === null || typeof page !== 'object' || !Array.isArray(page.values)) throw unexpectedAnswer(repo, 'a ref list without "values"');
  const values: RefInfo[] = (page.values as unknown[]).map((value) => parseDcRef(value, repo));
  const result: RefPage = { values };
  if (page.isLastPage === true || page.nextPageStart === undefined || page.nextPageStart === null) return result;
  const start = Number(new URL(pageUrl).searchParams.get('start') ?? 0);
  if (!Number.isSafeInteger(page.nextPageStart) || (page.nextPageStart as number) <= start) {
    // A start that does not move on would loop for ever.
    throw unexpectedAnswer(repo, `a "nextPageStart" that is not a page after ${start}`);
  }
  result.next = withStart(pageUrl, page.nextPageStart as number);
  return result;
}

/** One RestTag or RestBranch: a valid ref name and a 40-hex `latestCommit`, or an unexpected answer. */
export function parseDcRef(value: unknown, repo: string): RefInfo {
  const ref = value as { displayId?: unknown; latestCommit?: unknown } | null;
  const name = ref?.displayId;
  if (typeof name !== 'string' || !isRefName(name)) throw unexpectedAnswer(repo, 'a ref without a valid "displayId"');
  const commit = ref?.latestCommit;
  if (typeof commit !== 'string' || !COMMIT.test(commit)) throw unexpectedAnswer(repo, `ref ${name} without a 40-hex "latestCommit"`);
  return { name, commit };
}

/** The entry whose `displayId` is exactly `name` (the server's `filterText` is fuzzy). */
export function findExactRef(page: RefPage, name: string): RefInfo | undefined {
  return page.values.find((value) => value.name === name);
}

/** The full hash of a RestCommit (`id`), validated. */
export function dcCommitId(json: unknown): string | undefined {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'string' && COMMIT.test(id) ? id : undefined;
}

interface DcError {
  message: string;
  exceptionName: string | undefined;
}

/** The entries of `{"errors": [{"context", "message", "exceptionName"}]}`, or undefined for another body. */
export function dcErrors(json: unknown): DcError[] | undefined {
  const errors = (json as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const parsed = errors
    .map((error: unknown) => error as { message?: unknown; exceptionName?: unknown } | null)
    .filter((error) => typeof error?.message === 'string')
    .map((error) => ({ message: error!.message as string, exceptionName: typeof error!.exceptionName === 'string' ? error!.exceptionName : undefined }));
  return parsed.length > 0 ? parsed : undefined;
}

/** The message of a Data Center error body, short (mirrors api.ts errorMessage for Cloud). */
export function dcErrorMessage(json: unknown): string | undefined {
  const errors = dcErrors(json);
  return errors === undefined ? undefined : oneLine(errors.map((error) => error.message).join('; '), 200);
}

/**
 * What to show of an error answer, by its message, never raw: the
 * `errors[].message` of a JSON body, the title of an HTML page (older
 * servers and front ends answer 404s in HTML), else undefined.
 */
export function dcErrorText(body: string, contentType: string | undefined): string | undefined {
  if (/json/i.test(contentType ?? '') || /^\s*\{/.test(body)) {
    const message = dcErrorMessage(safeJson(body));
    if (message !== undefined) return message;
  }
  if (/html/i.test(contentType ?? '') || /^\s*</.test(body)) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(body)?.[1];
    const text = title === undefined ? '' : oneLine(title.replace(/<[^>]*>/g, ''), 80);
    return text === '' ? 'an HTML page' : `an HTML page ("${text}")`;
  }
  return undefined;
}

/** Data Center asks for a CAPTCHA after repeated failed logins: retrying then only makes it worse. */
export function isCaptchaRequired(json: unknown): boolean {
  return (dcErrors(json) ?? []).some((error) => error.exceptionName?.endsWith('CaptchaRequiredAuthenticationException') === true);
}

/**
 * The user an authenticated answer was made for (`X-AUSERNAME`: Data Center
 * has no "current user" endpoint for tokens); undefined when absent or not
 * a plausible name.
 */
export function userFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['x-ausername'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (value === undefined || value === '' || value.length > 255) return undefined;
  let name = value;
  try {
    name = decodeURIComponent(value);
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
  }
  return /[\u0000-\u001f\u007f]/.test(name) ? undefined : name;
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
