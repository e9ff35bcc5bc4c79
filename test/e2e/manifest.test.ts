import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, runCli, useEmulator } from '../helpers.js';

const TOKEN = TEST_TOKEN;
const env = TOKEN_ENV;
let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN] }, (started) => (emulator = started));

describe('bad manifests exit 2 before any request', () => {
  it.each([
    ['a syntax error, with line and column', '{\n  "workspace": "acme",\n  "modules": { "utils": "v1" ]\n}\n', /modules\.json:3:\d+: invalid JSON/],
    ['an unknown key', { workspace: 'acme', modules: {}, vendordir: 'x' }, /modules\.json: vendordir: unknown key/],
    ['a bad slug', { workspace: 'acme', modules: { x: { repo: 'acme/Not_A_Slug', ref: 'v1' } } }, /modules\.x\.repo: invalid slug/],
    ['a bad name', { workspace: 'acme', modules: { '-x': 'v1' } }, /modules\.-x: invalid name/],
  ])('%s', async (_, manifest, message) => {
    const sandbox = await makeSandbox(manifest);
    emulator.clearRequests();
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(emulator.requests).toEqual([]);
  });

  it('says where it looked when there is no modules.json', async () => {
    const sandbox = await makeSandbox();
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no modules\.json in .* or any parent folder/);
  });
});

describe('unknown refs', () => {
  it('exit 1 naming the newest tags; other modules still install', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v9.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('tag v9.0.0 not found in acme/utils (newest tags: 2.1.0, v2.0.0, v1.4.0)');
    expect(result.stdout).toMatch(/theme .*\(downloaded\)/);
  });

  it('exit 1 for a range no tag satisfies', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: '^7.0.0' } });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/tag \^7\.0\.0 not found in acme\/utils \(newest tags: 2\.1\.0, v2\.0\.0, v1\.4\.0\)/);
  });
});

describe('the command line', () => {
  it('prints help and version with exit 0, and rejects unknown commands and flags with exit 2', async () => {
    const sandbox = await makeSandbox();
    const help = await runCli(['--help'], { sandbox });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/npkg install/);
    const version = await runCli(['--version'], { sandbox });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = await runCli(['frobnicate'], { sandbox });
    expect(unknown.code).toBe(2);
    const completion = await runCli(['completion'], { sandbox });
    expect(completion.code).toBe(0);
    expect(completion.stdout).toMatch(/npkg.*completions/);
    const typo = await runCli(['install', '--ofline'], { sandbox });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/Unknown argument: ofline, did you mean --offline\?/);
    const command = await runCli(['instal'], { sandbox });
    expect(command.code).toBe(2);
    expect(command.stderr).toBe('npkg: unknown command "instal", did you mean install?; see `npkg --help`\n');
    const stray = await runCli(['install', 'c'], { sandbox });
    expect(stray.stderr).toBe('npkg: Unknown argument: c; see `npkg --help`\n');
    const badFlag = await runCli(['install', '--concurrency', 'many'], { sandbox });
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr.trim().split('\n')).toHaveLength(1);
    for (const args of [['install', '--retries'], ['-C'], ['outdated', '--network-timeout']]) {
      const missing = await runCli(args, { sandbox });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^npkg: Not enough arguments following: .+; see `npkg --help`\n$/);
    }
  });
});
