import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startNginx, type Nginx } from '../support/nginx.js';

/*
 * A 200 MB archive PUT to a real nginx and read back, in a child process of
 * its own so that its peak RSS is the client's alone (VmHWM: getrusage's
 * maxRSS would also count the forking test worker's, which Linux keeps
 * across exec). The child runs the built code (dist/, which `npm test`
 * builds first). About 2 s here.
 */

const HTTP_JS = fileURLToPath(new URL('../../dist/src/install/remote-cache/http.js', import.meta.url));
const SIZE = 200 * 1024 * 1024;
const LIMIT_KB = 150 * 1024;

const CHILD = `
import { closeSync, createReadStream, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const [httpJs, file, url, size] = process.argv.slice(1);
const { getObject, putObject } = await import(httpJs);
// A sparse file: the test does not spend 200 MB of disk writes on the source.
const fd = openSync(file, 'w');
ftruncateSync(fd, Number(size));
closeSync(fd);
const request = { url, authorization: undefined, timeoutMs: 30000, display: 'nginx' };
const sent = await putObject(request, file);
const hit = await getObject(request);
const digest = async (stream) => { const hash = createHash('sha256'); let bytes = 0; for await (const chunk of stream) { hash.update(chunk); bytes += chunk.length; } return { bytes, sha256: hash.digest('hex') }; };
const back = await digest(hit.stream);
const original = await digest(createReadStream(file));
process.stdout.write(JSON.stringify({ sent, back, original, maxRssKb: Number(/VmHWM:\\s*(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) }));
`;

let nginx: Nginx;
let dir: string;
beforeAll(async () => {
  nginx = await startNginx();
  dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-rss-'));
});
afterAll(async () => {
  await nginx?.close();
  await rm(dir, { recursive: true, force: true });
});

it('PUT and GET of a 200 MB archive stay under 150 MB of peak RSS', async () => {
  expect(existsSync(HTTP_JS), `${HTTP_JS} is missing: run \`npm run build\` first`).toBe(true);
  const url = `${nginx.url}/v1/127.0.0.1/acme/big/${'b'.repeat(40)}.tar.gz`;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD, HTTP_JS, path.join(dir, 'big.tar.gz'), url, String(SIZE)], (error, out, err) =>
      error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`)),
    );
  });
  const result = JSON.parse(stdout) as { sent: number; back: { bytes: number; sha256: string }; original: { bytes: number; sha256: string }; maxRssKb: number };
  expect(result.sent).toBe(SIZE);
  expect(result.back).toEqual(result.original);
  expect(result.back.bytes).toBe(SIZE);
  expect((await nginx.requests(2)).map((entry) => [entry.method, entry.status, entry.contentLength])).toEqual([
    ['PUT', 201, String(SIZE)],
    ['GET', 200, ''],
  ]);
  expect(result.maxRssKb).toBeLessThan(LIMIT_KB);
});
