/**
 * A real nginx (Debian's package, its WebDAV module) serving a team cache
 * on 127.0.0.1, from a temp prefix, as /work/shared/SHARED-CACHE.md
 * describes: PUT stores (201, 204 over an existing key), GET serves, a
 * missing key is 404. Its access log records each request's Authorization
 * header, so tests can check which credentials reached it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface NginxOptions {
  /** The location the cache lives under (default `/cache`). */
  basePath?: string;
  /** PUT and DELETE need one of these users (`limit_except GET HEAD { auth_basic … }`); reads stay open. */
  writeUsers?: Array<{ username: string; password: string }>;
  /** Every request needs `Authorization: Bearer <token>` (a cache read with NPKG_REMOTE_CACHE_TOKEN). */
  bearerToken?: string;
}

/** One line of the access log. */
export interface NginxRequest {
  method: string;
  uri: string;
  status: number;
  /** The Authorization header as it reached nginx ('' when none). */
  authorization: string;
  /** The request's Content-Length header ('' when none). */
  contentLength: string;
}

export interface Nginx {
  /** The cache's base URL, `http://127.0.0.1:PORT/cache`, without credentials. */
  url: string;
  port: number;
  /** The folder that holds the cache's objects (what `url` maps to). */
  root: string;
  /** The temp prefix: config, pid, logs, temp files. */
  prefix: string;
  /** The base URL with `user:password@` in it. */
  urlWithUser(username: string, password: string): string;
  /** The access log so far, waiting first (polling, bounded) until it has at least `atLeast` lines. */
  requests(atLeast?: number): Promise<NginxRequest[]>;
  /** Paths of the stored objects, relative to `root`, sorted. */
  objects(): Promise<string[]>;
  /** Replaces an object's bytes (a cache writer serving something else under a key). */
  poison(relativePath: string, bytes: Buffer): Promise<void>;
  /** Stops nginx (fast shutdown) and waits for it: the port then refuses connections ("cache down"). */
  stop(): Promise<void>;
  /** stop(), then removes the prefix. */
  close(): Promise<void>;
}

/** Attempts at a free port: another process may take the one found before nginx binds it. */
const PORT_ATTEMPTS = 5;

export async function startNginx(options: NginxOptions = {}): Promise<Nginx> {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'npkg-nginx-'));
  const basePath = (options.basePath ?? '/cache').replace(/\/+$/, '');
  const data = path.join(prefix, 'data');
  // The location's root must exist; create_full_put_path makes only the folders below it.
  await mkdir(path.join(data, basePath), { recursive: true });
  await mkdir(path.join(prefix, 'tmp'), { recursive: true });
  if (options.writeUsers !== undefined) await writeFile(path.join(prefix, 'htpasswd'), htpasswd(options.writeUsers));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(path.join(prefix, 'nginx.conf'), nginxConfig({ prefix, data, basePath, port, options }));
    const started = await launch(prefix);
    if ('child' in started) return handle(started.child, { prefix, data, basePath, port });
    if (!/Address already in use/.test(started.stderr) || attempt >= PORT_ATTEMPTS) {
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${started.stderr}`);
    }
  }
}

/** A port that was free a moment ago: bind port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** htpasswd lines in the {SSHA} scheme (RFC 2307, which nginx reads): no openssl or apache2-utils needed. */
export function htpasswd(users: Array<{ username: string; password: string }>): string {
  return users
    .map(({ username, password }) => {
      const salt = randomBytes(8);
      const digest = createHash('sha1').update(password).update(salt).digest();
      return `${username}:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}\n`;
    })
    .join('');
}

interface Layout {
  prefix: string;
  data: string;
  basePath: string;
  port: number;
}

function nginxConfig({ prefix, data, basePath, port, options }: Layout & { options: NginxOptions }): string {
  const tmp = path.join(prefix, 'tmp');
  const write =
    options.writeUsers === undefined
      ? ''
      : `      limit_except GET HEAD { auth_basic "npkg cache"; auth_basic_user_file ${path.join(prefix, 'htpasswd')}; }\n`;
  const bearer = options.bearerToken === undefined ? '' : `      if ($http_authorization != "Bearer ${options.bearerToken}") { return 401; }\n`;
  return `daemon off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log stderr notice;
${process.getuid?.() === 0 ? '# As root the workers would run as nobody, who cannot write the temp prefix.\nuser root root;\n' : ''}events { worker_connections 256; }
http {
  log_format cache escape=json '{"method":"$request_method","uri":"$request_uri","status":$status,'
                               '"authorization":"$http_authorization","contentLength":"$content_length"}';
  access_log ${path.join(prefix, 'access.log')} cache;
  # Temp files on the same file system as the data: a PUT ends in a rename, readers never see half a file.
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:${port};
    location ${basePath}/ {
      root ${data};
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;
${write}${bearer}    }
  }
}
`;
}

/**
 * Runs nginx in the foreground (daemon off) with its error log on stderr;
 * it is ready once the master, having bound the port, starts its worker.
 */
function launch(prefix: string): Promise<{ child: ChildProcess } | { stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('nginx', ['-e', 'stderr', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/start worker process \d+/.test(stderr)) {
        child.off('exit', onExit);
        resolve({ child });
      }
    };
    const onExit = () => resolve({ stderr });
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function handle(child: ChildProcess, layout: Layout): Nginx {
  const { prefix, data, basePath, port } = layout;
  const root = path.join(data, basePath);
  // Keep reading its log, or a chatty nginx would block on a full pipe.
  child.stderr!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test run that dies leaves no nginx behind (SIGTERM: the master takes its workers with it).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    process.off('exit', killOnExit);
  };
  const url = `http://127.0.0.1:${port}${basePath}`;
  return {
    url,
    port,
    root,
    prefix,
    urlWithUser: (username, password) => `http://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${port}${basePath}`,
    requests: (atLeast = 0) => readAccessLog(path.join(prefix, 'access.log'), atLeast),
    objects: async () => (await listFiles(root)).sort(),
    poison: (relativePath, bytes) => writeFile(path.join(root, relativePath), bytes),
    stop,
    close: async () => {
      await stop();
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

/**
 * nginx writes a request's log line after the response has gone out, so a
 * client can have the answer before the line exists: wait for the count.
 */
async function readAccessLog(file: string, atLeast: number): Promise<NginxRequest[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    const entries = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as NginxRequest);
    if (entries.length >= atLeast) return entries;
    if (Date.now() > deadline) throw new Error(`nginx logged ${entries.length} requests, expected at least ${atLeast}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function listFiles(dir: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out;
}
