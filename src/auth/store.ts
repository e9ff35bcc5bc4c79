import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { NpkgError, hasErrnoCode } from '../util/errors.js';
import { writeFileAtomic } from '../util/json-file.js';

/** What `npkg login` keeps for a host. Secrets: never printed, only fingerprinted. */
export interface StoredCredential {
  /** How it was obtained; decides how it is renewed. */
  grant: 'authorization_code' | 'client_credentials' | 'token' | 'oauth1';
  accessToken: string;
  /** Epoch milliseconds; absent when unknown (a pasted token). */
  expiresAt?: number;
  /** When it was issued (epoch ms): with expiresAt, its lifetime. */
  obtainedAt?: number;
  refreshToken?: string;
  scopes?: string;
  /** Consumer key and secret: a refresh needs them. */
  clientId?: string;
  clientSecret?: string;
  /** OAuth 1.0a token secret. */
  tokenSecret?: string;
}

export interface CredentialStore {
  /** `keychain` or `credentials.json`, for messages. */
  readonly name: string;
  get(host: string): Promise<StoredCredential | undefined>;
  set(host: string, credential: StoredCredential): Promise<void>;
  delete(host: string): Promise<boolean>;
}

const SERVICE = 'npkg';
/** Like gh: a keychain that does not answer within this time counts as absent. */
const KEYCHAIN_TIMEOUT_MS = 3000;

/**
 * The OS keychain through keytar when it is installed and answers, else
 * `credentials.json` (0600 in a 0700 folder). `NPKG_CREDENTIAL_STORE` forces one.
 */
export async function openCredentialStore(configDir: string, forced: string | undefined, onWarning: (message: string) => void): Promise<CredentialStore> {
  if (forced !== undefined && forced !== '' && forced !== 'keychain' && forced !== 'file') {
    throw new NpkgError('USAGE', `NPKG_CREDENTIAL_STORE must be "keychain" or "file", not "${forced}"`);
  }
  if (forced !== 'file') {
    const keychain = await openKeychain();
    if (keychain !== undefined) return keychain;
    if (forced === 'keychain') {
      throw new NpkgError('NO_CREDENTIAL', 'NPKG_CREDENTIAL_STORE=keychain, but no keychain answers (keytar missing, or no Secret Service running)');
    }
  }
  // Chosen, not fallen back to: no warning then.
  return new FileStore(path.join(configDir, 'credentials.json'), forced === 'file' ? undefined : onWarning);
}

/**
 * The few keytar calls npkg makes. keytar is optional (it builds from source and
 * needs libsecret): nothing here may name its module or its types, or the build
 * fails on machines where it did not install.
 */
export interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<Array<{ account: string; password: string }>>;
}

/** A variable, so that the compiler does not look for the optional module. */
const KEYTAR_MODULE = 'keytar';

async function loadKeytar(): Promise<Keytar | undefined> {
  try {
    const loaded = (await import(KEYTAR_MODULE)) as Keytar & { default?: Keytar };
    return loaded.default ?? loaded;
  } catch (error) {
    // keytar is optional: not installed, or built for another Node.
    if (hasErrnoCode(error, 'ERR_MODULE_NOT_FOUND') || hasErrnoCode(error, 'ERR_DLOPEN_FAILED') || hasErrnoCode(error, 'MODULE_NOT_FOUND')) return undefined;
    throw error;
  }
}

async function openKeychain(): Promise<CredentialStore | undefined> {
  const keytar = await loadKeytar();
  if (keytar === undefined) return undefined;
  const answered = await withTimeout(keytar.findCredentials(SERVICE), KEYCHAIN_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
  if (!answered) return undefined;
  return {
    name: 'keychain',
    async get(host) {
      const text = await keytar.getPassword(SERVICE, host);
      return text === null ? undefined : parseCredential(text, 'keychain');
    },
    async set(host, credential) {
      await keytar.setPassword(SERVICE, host, JSON.stringify(credential));
    },
    delete: (host) => keytar.deletePassword(SERVICE, host),
  };
}

/** credentials.json: `{ "<host>": StoredCredential }`, mode 0600, written by rename. */
class FileStore implements CredentialStore {
  readonly name = 'credentials.json';

  constructor(
    private readonly file: string,
    private readonly onFallback: ((message: string) => void) | undefined,
  ) {}

  async get(host: string): Promise<StoredCredential | undefined> {
    const all = await this.readAll();
    const entry = all[host];
    return entry === undefined ? undefined : parseCredential(JSON.stringify(entry), this.file);
  }

  async set(host: string, credential: StoredCredential): Promise<void> {
    if (this.onFallback !== undefined) await this.warnOnce(this.onFallback);
    const all = await this.readAll();
    all[host] = credential;
    await this.writeAll(all);
  }

  async delete(host: string): Promise<boolean> {
    const all = await this.readAll();
    if (all[host] === undefined) return false;
    delete all[host];
    await this.writeAll(all);
    return true;
  }

  /** The one-time warning: said when the file is first created. */
  private async warnOnce(onWarning: (message: string) => void): Promise<void> {
    try {
      await readFile(this.file);
    } catch (error) {
      if (!hasErrnoCode(error, 'ENOENT')) throw error;
      onWarning(`no keychain available: credentials will be kept in ${this.file} (readable by you only)`);
    }
  }

  private async readAll(): Promise<Record<string, unknown>> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return {};
      // No usable credential (exit 4), as for a damaged keychain entry.
      if (error instanceof SyntaxError) throw new NpkgError('NO_CREDENTIAL', `${this.file} is damaged: delete it and run \`npkg login\``);
      throw error;
    }
  }

  private async writeAll(all: Record<string, unknown>): Promise<void> {
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The folder may predate npkg with looser rights: the secrets need it private.
    await chmod(dir, 0o700);
    await writeFileAtomic(this.file, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  }
}

function parseCredential(text: string, where: string): StoredCredential {
  let data: Partial<StoredCredential> | null = null;
  try {
    data = JSON.parse(text) as Partial<StoredCredential> | null;
  } catch {
    // Reported below, like any other damage.
  }
  if (typeof data?.accessToken !== 'string' || typeof data.grant !== 'string') {
    throw new NpkgError('NO_CREDENTIAL', `the credential stored in ${where} is damaged: run \`npkg logout\`, then \`npkg login\``);
  }
  return data as StoredCredential;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
