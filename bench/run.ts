/**
 * `npm run bench [-- --quick]`: npkg against what a user would run instead,
 * on loopback against the Bitbucket emulator, as ratios measured in the same
 * run (SPEC §9). Prints a Markdown table for BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type Emulator } from '../test/emulator/server.js';
import { fileURLToPath } from 'node:url';
import { bigRepo, smallRepos, sourceTreeRepo } from './fixtures.js';
import { compare, formatMs, summarize, timeCommand, type Command, type Run } from './measure.js';
import { BenchProject, curlLoop, curlTar, gigetLoop, tarExtract, TOKEN } from './scenarios.js';

const quick = process.argv.includes('--quick');
// --small-only: the no-op and 20-module rows alone; --tree-only: the real source tree rows alone;
// --runs=N: N runs per measure (to iterate on one figure).
const smallOnly = process.argv.includes('--small-only');
const treeOnly = process.argv.includes('--tree-only');
const runsFlag = Number(process.argv.find((arg) => arg.startsWith('--runs='))?.slice('--runs='.length));
const plan = {
  ...(quick
    ? { runs: 3, noopRuns: 5, bigFiles: 8, bigMb: 4, modules: 20, moduleKb: 256 }
    : { runs: 5, noopRuns: 10, bigFiles: 8, bigMb: 25, modules: 20, moduleKb: 256 }),
  ...(runsFlag > 0 ? { runs: runsFlag } : {}),
};

interface Row {
  measure: string;
  npkg: string;
  baseline: string;
  ratio: number;
  budget: string;
  ok: boolean | undefined;
}

const rows: Row[] = [];
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/** A budget: at most `max` times slower, at least `min` times faster, or a `note` when not judged (quick runs). */
interface Budget {
  max?: number;
  min?: number;
  speedup?: boolean;
  note?: string;
}

function addRow(measure: string, candidate: Run[], baseline: Run[], budget: Budget, extra = ''): void {
  const c = summarize(candidate);
  const b = summarize(baseline);
  const ratio = budget.speedup ? b.median / c.median : c.median / b.median;
  const ok = budget.max !== undefined ? ratio <= budget.max : budget.min !== undefined ? ratio >= budget.min : undefined;
  const text = budget.max !== undefined ? `≤ ${budget.max}x` : budget.min !== undefined ? `≥ ${budget.min}x faster` : (budget.note ?? 'for information');
  rows.push({
    measure,
    npkg: `${formatMs(c.median)} (${formatMs(c.min)}–${formatMs(c.max)})${extra}`,
    baseline: `${formatMs(b.median)} (${formatMs(b.min)}–${formatMs(b.max)})`,
    ratio,
    budget: text,
    ok,
  });
  log(`${measure}: ${ratio.toFixed(2)}x`);
}

/** Flushes dirty pages, so one measure's writes do not slow the next one down. */
function settleDisk(): void {
  spawnSync('sync');
}

log(`building fixtures (${quick ? 'quick' : 'full'} run)`);
if (!treeOnly) await smallModules();
if (!smallOnly && !treeOnly) await bigArchive();
if (!smallOnly) await sourceTree();

/** The no-op and 20-module rows (and, in a full run, the information-only ones). */
async function smallModules(): Promise<void> {
  // One emulator per kind of scenario, so the small-module figures do not carry the big archive's heap.
  const smallEmulator = await startEmulator({ repos: smallRepos(plan.modules, plan.moduleKb), bearerTokens: [TOKEN] });
  try {
    const smallModules = Object.fromEntries(
      Array.from({ length: plan.modules }, (_, index) => {
        const name = `mod-${String(index + 1).padStart(2, '0')}`;
        return [name, { repo: `bench/${name}`, ref: 'v1.0.0' }];
      }),
    );
    const small = await BenchProject.create(smallEmulator, smallModules);

    log('no-op install');
    await small.installFresh({ keepCache: false });
    settleDisk();
    const noop = await compare(plan.noopRuns, { prepare: async () => small.noopCommand() }, { prepare: async () => ({ file: process.execPath, args: ['-e', '0'] }) });
    addRow(`no-op install, ${plan.modules} modules, vs \`node -e 0\``, noop.candidate, noop.baseline, { max: 2 });

    smallEmulator.setLatency(100);
    const urls = small.archiveUrls();
    log(`${plan.modules} modules with 100 ms latency`);
    settleDisk();
    const locked = await compare(plan.runs, { prepare: () => small.freshInstallCommand({ lock: true, cache: 'empty' }) }, { prepare: () => curlLoop(urls) });
    addRow(`${plan.modules} modules of ${plan.moduleKb} KB, 100 ms latency, lockfile, empty cache: sequential \`curl | tar\` loop vs npkg`, locked.candidate, locked.baseline, { min: 5, speedup: true });
    if (!quick && !smallOnly) await informationOnly(small, urls);
    if (!quick) await teamCache(small, smallEmulator);
    if (!quick || process.argv.includes('--datacenter')) await dataCenter(smallModules);
  } finally {
    await smallEmulator.close();
  }
}

/** Figures reported for information only, left out of --quick: without a lockfile, and giget. */
async function informationOnly(small: BenchProject, urls: string[]): Promise<void> {
  const unlocked = await compare(plan.runs, { prepare: () => small.freshInstallCommand({ lock: false, cache: 'empty' }) }, { prepare: () => curlLoop(urls) });
  addRow(`same, without a lockfile (one API call per module)`, unlocked.candidate, unlocked.baseline, { speedup: true });
  const giget = await gigetLoop(urls);
  if (giget !== undefined) {
    const gigetRuns = await compare(plan.runs, { prepare: () => small.freshInstallCommand({ lock: true, cache: 'empty' }) }, { prepare: async () => giget });
    addRow(`same ${plan.modules} modules: giget in a loop vs npkg (lockfile)`, gigetRuns.candidate, gigetRuns.baseline, { speedup: true });
  }
}

/** For information (issue 14): the same 20 modules from the Data Center personality, under a context path. */
async function dataCenter(modules: Record<string, { repo: string; ref: string }>): Promise<void> {
  const emulator = await startEmulator({
    repos: smallRepos(plan.modules, plan.moduleKb),
    datacenter: { contextPath: '/bitbucket', tokens: [{ token: TOKEN, username: 'bench', kind: 'project' }] },
  });
  try {
    const project = await BenchProject.create(emulator, modules);
    emulator.setLatency(100);
    const urls = project.archiveUrls();
    settleDisk();
    const runs = await compare(plan.runs, { prepare: () => project.freshInstallCommand({ lock: true, cache: 'empty' }) }, { prepare: () => curlLoop(urls) });
    addRow(`same ${plan.modules} modules from Bitbucket Data Center (emulator, context path): sequential \`curl | tar\` loop vs npkg`, runs.candidate, runs.baseline, { speedup: true });
  } finally {
    await emulator.close();
  }
}

/**
 * For information (SPEC §10): the same 20 modules (100 ms latency on
 * Bitbucket, lockfile, empty local cache) from a warm team cache on a
 * loopback nginx, against the same install from Bitbucket, with the count
 * of requests that reached Bitbucket in each. Skipped without nginx.
 */
async function teamCache(small: BenchProject, emulator: Emulator): Promise<void> {
  if (spawnSync('nginx', ['-v']).error !== undefined) return log('team cache rows skipped: no nginx (apt-get install nginx)');
  const { startNginx } = await import('../test/support/nginx.js');
  const nginx = await startNginx();
  try {
    const env = { NPKG_REMOTE_CACHE: nginx.url };
    await timeCommand(await small.freshInstallCommand({ lock: true, cache: 'empty', env: { ...env, NPKG_REMOTE_CACHE_WRITE: '1' } }));
    const bitbucketRequests = async (command: Command) => {
      emulator.clearRequests();
      await timeCommand(command);
      return emulator.requests.length;
    };
    const fromCache = await bitbucketRequests(await small.freshInstallCommand({ lock: true, cache: 'empty', env }));
    const fromBitbucket = await bitbucketRequests(await small.freshInstallCommand({ lock: true, cache: 'empty' }));
    const runs = await compare(plan.runs, { prepare: () => small.freshInstallCommand({ lock: true, cache: 'empty', env }) }, { prepare: () => small.freshInstallCommand({ lock: true, cache: 'empty' }) });
    addRow(
      `same ${plan.modules} modules from a warm team cache (nginx, loopback) vs from Bitbucket; requests to Bitbucket: ${fromCache} vs ${fromBitbucket}`,
      runs.candidate,
      runs.baseline,
      { speedup: true },
    );
  } finally {
    await nginx.close();
  }
}

/** The 200 MB rows (32 MB with --quick): download with cache write, and reinstall from the cache. */
async function bigArchive(): Promise<void> {
  const bigEmulator = await startEmulator({ repos: [bigRepo(plan.bigFiles, plan.bigMb)], bearerTokens: [TOKEN] });
  try {
    const big = await BenchProject.create(bigEmulator, { big: { repo: 'bench/big', ref: 'v1.0.0' } });
    const bigUrl = big.archiveUrls()[0]!;
    const bigMb = plan.bigFiles * plan.bigMb;

    log(`${bigMb} MB archive`);
    settleDisk();
    const download = await compare(plan.runs, { prepare: () => big.freshInstallCommand({ lock: true, cache: 'empty' }), rss: true }, { prepare: () => curlTar(bigUrl) });
    const peakMb = Math.max(...download.candidate.map((run) => run.maxRssKb ?? 0)) / 1024;
    addRow(`one ${bigMb} MB archive (${plan.bigFiles} × ${plan.bigMb} MB), cache write included, vs \`curl | tar -xz\``, download.candidate, download.baseline, quick ? { note: '≤ 1.25x at 200 MB (full run)' } : { max: 1.25 }, peakMb ? `, peak RSS ${peakMb.toFixed(0)} MB` : '');
    rows.push({ measure: 'peak RSS of npkg for that archive', npkg: `${peakMb.toFixed(0)} MB`, baseline: '', ratio: peakMb, budget: '< 150 MB', ok: peakMb > 0 ? peakMb < 150 : undefined });

    log(`${bigMb} MB archive from the cache, --offline`);
    settleDisk();
    const offline = await compare(plan.runs, { prepare: () => big.freshInstallCommand({ lock: true, cache: 'warm', offline: true }) }, { prepare: () => tarExtract(big.cachedArchive()) });
    addRow(`reinstall of the ${bigMb} MB archive from the cache (\`--offline\`) vs \`tar -xzf\``, offline.candidate, offline.baseline, quick ? { note: '≤ 1.3x at 200 MB (full run)' } : { max: 1.3 });
  } finally {
    await bigEmulator.close();
  }
}

/** The real source tree rows: this checkout's `node_modules` as one module, downloaded and reinstalled --offline. */
async function sourceTree(): Promise<void> {
  const root = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'node_modules');
  const tree = await sourceTreeRepo(root);
  const emulator = await startEmulator({ repos: [tree.fixture], bearerTokens: [TOKEN] });
  try {
    const project = await BenchProject.create(emulator, { tree: { repo: tree.fixture.repo, ref: 'v1.0.0' } });
    const gz = (await stat(project.cachedArchive())).size;
    const what = `this checkout's node_modules (${tree.files} files, ${(tree.bytes / 2 ** 20).toFixed(1)} MB, ${(gz / 2 ** 20).toFixed(1)} MB gzipped)`;
    log(`real source tree: ${what}`);
    settleDisk();
    const url = project.archiveUrls()[0]!;
    const download = await compare(plan.runs, { prepare: () => project.freshInstallCommand({ lock: true, cache: 'empty' }) }, { prepare: () => curlTar(url) });
    addRow(`real source tree: ${what}, one module, vs \`curl | tar -xz\``, download.candidate, download.baseline, { max: 1.25 });
    settleDisk();
    const offline = await compare(plan.runs, { prepare: () => project.freshInstallCommand({ lock: true, cache: 'warm', offline: true }) }, { prepare: () => tarExtract(project.cachedArchive()) });
    addRow(`reinstall of that tree from the cache (\`--offline\`) vs \`tar -xzf\``, offline.candidate, offline.baseline, { max: 1.3 });
  } finally {
    await emulator.close();
  }
}

const cpus = os.cpus();
process.stdout.write(
  [
    `npkg bench (${quick ? 'quick' : 'full'}): ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
    `runs per measure: ${plan.runs} (no-op: ${plan.noopRuns}); median (min–max); ratios of medians`,
    '',
    '| measure | npkg | baseline | ratio | budget | holds |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.measure.replace(/\|/g, "\\|")} | ${row.npkg} | ${row.baseline} | ${row.measure.startsWith('peak') ? '' : `${row.ratio.toFixed(2)}x`} | ${row.budget} | ${row.ok === undefined ? '–' : row.ok ? 'yes' : '**no**'} |`,
    ),
    '',
  ].join('\n'),
);
process.exitCode = rows.some((row) => row.ok === false) ? 1 : 0;
