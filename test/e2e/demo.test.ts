import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../support/bitbucket-emulator.js';
import { DEMO_REPOS } from '../support/fixtures.js';
import { makeSandbox, runCli } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'demo-test-token-123456789';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ repos: DEMO_REPOS, bearerTokens: [TOKEN] });
});
afterAll(async () => {
  await emulator.close();
});

describe('the demo project', () => {
  it('installs the root modules.json with its committed lockfile in CI mode (the hashes are machine-independent)', async () => {
    const sandbox = await makeSandbox();
    for (const file of ['modules.json', 'modules.lock.json', 'modules.schema.json']) {
      await copyFile(path.join(ROOT, file), path.join(sandbox.project, file));
    }
    const result = await runCli(['install'], { sandbox, emulator, env: { BITBUCKET_TOKEN: TOKEN, CI: 'true' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/4 downloaded/);
  });
});
