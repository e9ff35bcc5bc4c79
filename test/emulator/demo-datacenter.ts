/**
 * `npm run demo -- --datacenter`: the demo's repositories behind the Data
 * Center personality, under a context path, with an incoming application
 * link to sign in through. Project keys cannot hold `-`, so `design-team`
 * becomes the project `design_team` (manifest and lockfile rewritten into a
 * scratch copy of the project; the trees, commits and hashes stay the same).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RepoFixture } from './git-fixtures.js';
import { startEmulator, type Emulator } from './server.js';

export const DEMO_CLIENT = { id: 'demo-client', secret: 'demo-client-secret', redirectUrl: 'http://localhost:8976/callback' };

const asProject = (workspace: string) => workspace.replace(/[^A-Za-z0-9_]/g, '_');

export interface DataCenterDemo {
  emulator: Emulator;
  /** The scratch copy of the project, its repos named by project keys. */
  project: string;
}

export async function startDataCenterDemo(repos: RepoFixture[], root: string, scratch: string): Promise<DataCenterDemo> {
  const renamed = repos.map((fixture) => {
    const [workspace, slug] = fixture.repo.split('/') as [string, string];
    return { ...fixture, repo: `${asProject(workspace)}/${slug}` };
  });
  const emulator = await startEmulator({ repos: renamed, datacenter: { contextPath: '/bitbucket', oauth: { clients: [DEMO_CLIENT], username: 'demo' } } });
  const project = path.join(scratch, 'project');
  await mkdir(project, { recursive: true });
  for (const file of ['modules.json', 'modules.lock.json']) {
    let text: string;
    try {
      text = await readFile(path.join(root, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const rewritten = text.replace(/("repo":\s*")([^"/]+)\//g, (_, head: string, workspace: string) => `${head}${asProject(workspace)}/`).replace(/("workspace":\s*")([^"]+)"/, (_, head: string, workspace: string) => `${head}${asProject(workspace)}"`);
    await writeFile(path.join(project, file), rewritten.replace('"./modules.schema.json"', JSON.stringify(path.join(root, 'modules.schema.json'))));
  }
  return { emulator, project };
}
