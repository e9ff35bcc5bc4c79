/** A Bitbucket Data Center for end-to-end tests: the emulator's DC personality under /bitbucket, its repositories, tokens and environment. */
import { git, type RepoFixture } from '../emulator/git-fixtures.js';
import { startEmulator, type DataCenterOptions, type Emulator } from '../emulator/server.js';
import type { Sandbox } from '../helpers.js';

export const PAT = 'dc-pat-alice-0123456789abcdef';
export const PROJECT_TOKEN = 'dc-project-token-plat-0123456789';
export const PERSONAL_TOKEN = 'dc-project-token-alice-987654321';
export const CLIENT = { id: 'dc-client-id-1234', secret: 'dc-client-secret-SECRETMARK-5678', redirectUrl: 'http://localhost:8976/callback' };

const MANY_TAGS = (major: number) => Array.from({ length: 50 }, (_, minor) => `v${major}.${minor}.0`);

export const DC_REPOS: RepoFixture[] = [
  {
    repo: 'plat/utils',
    commits: [
      { files: { 'README.md': '# utils 1.0\n' }, tags: ['v1.0.0'] },
      { files: { 'README.md': '# utils 1.1\n', 'lib/a.js': 'a\n' }, tags: ['v1.1.0'] },
      { files: { 'README.md': '# utils next\n' }, branches: ['feature/x'] },
    ],
  },
  {
    repo: 'plat/many',
    commits: [
      { files: { 'v.txt': '1\n' }, tags: MANY_TAGS(1) },
      { files: { 'v.txt': '2\n' }, tags: MANY_TAGS(2) },
      { files: { 'v.txt': '3\n' }, tags: MANY_TAGS(3) },
    ],
  },
  { repo: '~alice/tools', commits: [{ files: { 'tool.sh': 'echo tool\n' } }] },
];

/** Starts the Data Center; `v1.1.0` of PLAT/utils becomes an annotated tag (its `hash` is the tag object). */
export async function startDataCenter(options: Partial<DataCenterOptions> = {}): Promise<Emulator> {
  const emulator = await startEmulator({
    repos: DC_REPOS,
    datacenter: {
      contextPath: '/bitbucket',
      maxPageSize: 25,
      tagHash: 'absent',
      tokens: [
        { token: PAT, username: 'alice', kind: 'personal' },
        { token: PROJECT_TOKEN, username: 'plat-bot', kind: 'project' },
        { token: PERSONAL_TOKEN, username: 'alice-bot', kind: 'project' },
      ],
      oauth: { clients: [CLIENT], username: 'bob' },
      ...options,
    },
  });
  const utils = emulator.repos.get('plat/utils')!;
  await git(utils.dir, ['tag', '-a', '-f', '-m', 'release 1.1.0', 'v1.1.0', utils.commits[1]!]);
  return emulator;
}

/** The CLI's environment for the Data Center: BITBUCKET_URL with its context path and no BITBUCKET_API_URL (that would mean Cloud). */
export function dcEnv(emulator: Emulator, extra: Record<string, string> = {}): { env: Record<string, string> } {
  return { env: { BITBUCKET_URL: emulator.siteUrl, NPKG_CREDENTIAL_STORE: 'file', ...extra } };
}

export function dcRun(sandbox: Sandbox, emulator: Emulator, extra: Record<string, string> = {}) {
  return { sandbox, ...dcEnv(emulator, extra) };
}
