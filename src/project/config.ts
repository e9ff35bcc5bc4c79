import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NpkgError, hasErrnoCode } from '../util/errors.js';
import { parseJsonWithPosition } from '../util/json-file.js';
import { setFetchTimeout } from '../net/proxy.js';
import { serverKind, type ServerKind } from '../util/server-kind.js';

/** Everything configurable, resolved: flags, then environment, then config.json, then defaults. */
export interface Settings {
  bitbucketUrl: string;
  apiUrl: string;
  /** SPEC §6: told once from the settings, without a request. */
  kind: ServerKind;
  concurrency: number;
  retries: number;
  networkTimeoutMs: number;
  cacheDir: string;
  configDir: string;
  clientId: string | undefined;
  callbackUrl: string | undefined;
  /** The team cache's base URL as given (NPKG_REMOTE_CACHE, else remoteCache), parsed by the install commands. */
  remoteCacheUrl: string | undefined;
  /** Where remoteCacheUrl came from, for the exit-2 message of a malformed one. */
  remoteCacheSource: string;
}

/** The part of the settings that install takes as is. */
export function installSettings(settings: Settings): Pick<Settings, 'concurrency' | 'retries' | 'networkTimeoutMs' | 'bitbucketUrl' | 'apiUrl' | 'kind' | 'cacheDir'> {
  const { concurrency, retries, networkTimeoutMs, bitbucketUrl, apiUrl, kind, cacheDir } = settings;
  return { concurrency, retries, networkTimeoutMs, bitbucketUrl, apiUrl, kind, cacheDir };
}

/** --retries and --network-timeout, on every command that uses the network. */
export interface NetworkFlags {
  retries?: number | undefined;
  networkTimeout?: number | undefined;
}

export interface SettingsFlags extends NetworkFlags {
  concurrency?: number | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

const CONFIG_KEYS = new Set(['clientId', 'callbackUrl', 'bitbucketUrl', 'bitbucketKind', 'apiUrl', 'concurrency', 'remoteCache']);

export async function loadSettings(flags: SettingsFlags, env: Env): Promise<Settings> {
  // env-paths loads only when a folder is not given by the environment.
  const platform = env.NPKG_CONFIG_DIR && env.NPKG_CACHE_DIR ? undefined : (await import('env-paths')).default('npkg', { suffix: '' });
  const configDir = path.resolve(env.NPKG_CONFIG_DIR || platform!.config);
  const configFile = path.join(configDir, 'config.json');
  const file = await readConfigFile(configFile);
  const cacheDir = path.resolve(env.NPKG_CACHE_DIR || platform!.cache);
  // Each setting from the first source that has it; a bad value is named by where it came from.
  const inFile = (key: string) => `${key} in ${configFile}`;
  const bitbucketUrl = checkUrl(...first([env.BITBUCKET_URL || undefined, 'BITBUCKET_URL'], [stringValue(file.bitbucketUrl), inFile('bitbucketUrl')], ['https://bitbucket.org', '']));
  // Whether an API URL was given at all: that alone makes the server Cloud (SPEC §6).
  const givenApiUrl = firstGiven([env.BITBUCKET_API_URL || undefined, 'BITBUCKET_API_URL'], [stringValue(file.apiUrl), inFile('apiUrl')]);
  const [kindValue, kindSource] = firstGiven([env.BITBUCKET_KIND || undefined, 'BITBUCKET_KIND'], [kindText(file.bitbucketKind, inFile('bitbucketKind')), inFile('bitbucketKind')]);
  const settings: Settings = {
    bitbucketUrl,
    apiUrl: givenApiUrl[0] === undefined ? 'https://api.bitbucket.org' : checkUrl(givenApiUrl[0], givenApiUrl[1]),
    kind: serverKind({ bitbucketUrl, apiUrl: givenApiUrl[0], kind: kindValue, kindSource }),
    concurrency: checkCount(...first([flags.concurrency, '--concurrency'], [numberValue(file.concurrency, inFile('concurrency')), inFile('concurrency')], [8, '']), 1, 64),
    retries: checkCount(flags.retries ?? 3, '--retries', 0, 20),
    networkTimeoutMs:
      1000 *
      checkCount(
        ...first([flags.networkTimeout, '--network-timeout'], [numberValue(env.NPKG_NETWORK_TIMEOUT, 'NPKG_NETWORK_TIMEOUT'), 'NPKG_NETWORK_TIMEOUT'], [30, '']),
        1,
        3600,
      ),
    cacheDir,
    configDir,
    clientId: stringValue(file.clientId),
    callbackUrl: stringValue(file.callbackUrl),
    remoteCacheUrl: env.NPKG_REMOTE_CACHE || stringValue(file.remoteCache),
    remoteCacheSource: env.NPKG_REMOTE_CACHE ? 'NPKG_REMOTE_CACHE' : inFile('remoteCache'),
  };
  // The OAuth requests go through fetch, outside BitbucketHttp: they get the same bound.
  setFetchTimeout(settings.networkTimeoutMs);
  return settings;
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return {};
    throw error;
  }
  const data = parseJsonWithPosition(text, file, 'USAGE');
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new NpkgError('USAGE', `${file}: must be a JSON object`);
  for (const key of Object.keys(data)) {
    if (!CONFIG_KEYS.has(key)) throw new NpkgError('USAGE', `${file}: ${key}: unknown key (allowed: ${[...CONFIG_KEYS].join(', ')})`);
  }
  return data as Record<string, unknown>;
}

function checkUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    if (error instanceof TypeError) throw new NpkgError('USAGE', `${name} is not a URL: ${value}`);
    throw error;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new NpkgError('USAGE', `${name} must be an http(s) URL`);
  if (url.username || url.password) throw new NpkgError('USAGE', `${name} must not hold credentials: use BITBUCKET_TOKEN or \`npkg login\``);
  return url.toString().replace(/\/+$/, '');
}

/** The first [value, source name] pair with a value. */
function first<T>(...sources: Array<[T | undefined, string]>): [T, string] {
  return sources.find(([value]) => value !== undefined) as [T, string];
}

/** The first [value, source name] pair with a value, or [undefined, ''] when no source has one. */
function firstGiven(...sources: Array<[string | undefined, string]>): [string | undefined, string] {
  return sources.find(([value]) => value !== undefined) ?? [undefined, ''];
}

function checkCount(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new NpkgError('USAGE', `${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/** config.json's bitbucketKind: a string (checked by serverKind), anything else named as wrong. */
function kindText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new NpkgError('USAGE', `${name} must be cloud or datacenter`);
  return value;
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numberValue(value: unknown, name?: string): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value);
    if (Number.isNaN(number)) throw new NpkgError('USAGE', `${name ?? 'value'} must be a number, not "${value}"`);
    return number;
  }
  return undefined;
}
