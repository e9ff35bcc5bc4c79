import { describe, expect, it } from 'vitest';
import { parseInstallFast } from '../../src/cli/options.js';

describe('parseInstallFast', () => {
  it('reads a plain install with its flags', () => {
    expect(parseInstallFast(['i', '-C', 'dir', '--json', '--no-progress', '--concurrency', '4', '--no-frozen-lockfile', '-q'])).toEqual({
      cwd: 'dir',
      json: true,
      verbose: false,
      quiet: true,
      progress: false,
      frozenLockfile: false,
      offline: false,
      force: false,
      concurrency: 4,
      retries: undefined,
      networkTimeout: undefined,
    });
    expect(parseInstallFast(['install', '--frozen-lockfile'])?.frozenLockfile).toBe(true);
    expect(parseInstallFast(['install'])?.frozenLockfile).toBeUndefined();
  });

  it.each([[['install', '--help']], [['--version']], [['install', 'extra']], [['install', '--bogus']], [['install', '--retries', 'x']], [['add', 'x']], [[]]])(
    'leaves %j to yargs',
    (argv) => {
      expect(parseInstallFast(argv)).toBeUndefined();
    },
  );
});
