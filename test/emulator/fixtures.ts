import type { RepoFixture } from './git-fixtures.js';

/**
 * The repositories behind the root modules.json (the demo). Built with fixed
 * identities and dates, so their commits, and the committed
 * modules.lock.json, are the same on every machine.
 */
export const DEMO_REPOS: RepoFixture[] = [
  {
    repo: 'acme/utils',
    commits: [
      { files: { 'README.md': '# utils 1.0\n', 'index.js': 'export const version = "1.0.0";\n' }, tags: ['v1.0.0'] },
      {
        files: {
          'README.md': '# utils 1.4\n',
          'index.js': 'export const version = "1.4.0";\n',
          'bin/utils.sh': { content: '#!/bin/sh\necho utils 1.4\n', mode: 0o755 },
          'docs/README.md': { symlink: '../README.md' },
        },
        tags: ['v1.4.0'],
      },
      { files: { 'README.md': '# utils 2.0\n', 'index.js': 'export const version = "2.0.0";\n' }, tags: ['v2.0.0'] },
    ],
  },
  {
    repo: 'acme/parser',
    commits: [
      { files: { 'parser.js': 'export const parse = (s) => s.split(",");\n' }, tags: ['v1.9.0'] },
      { files: { 'parser.js': 'export const parse = (s) => s.split(/,\\s*/);\n', LICENSE: 'MIT\n' }, tags: ['v2.0.0'] },
      { files: { 'parser.js': 'export const parse = (s) => s.trim().split(/,\\s*/);\n', LICENSE: 'MIT\n' }, tags: ['v2.3.1'] },
      { files: { 'parser.js': 'export const parse = (s) => s.trim().split(/[,;]\\s*/);\n', LICENSE: 'MIT\n' }, tags: ['v3.0.0'] },
    ],
  },
  {
    repo: 'design-team/theme',
    commits: [
      { files: { 'theme.css': ':root { --accent: #0052cc; }\n' } },
      { files: { 'theme.css': ':root { --accent: #0052cc; --radius: 3px; }\n', 'tokens/colors.json': '{ "accent": "#0052cc" }\n' } },
    ],
  },
  {
    repo: 'acme/icon-set',
    commits: [
      {
        files: {
          'src/build.js': 'console.log("build icons");\n',
          'dist/check.svg': '<svg xmlns="http://www.w3.org/2000/svg"><path d="M1 5l3 3 6-6"/></svg>\n',
          'dist/cross.svg': '<svg xmlns="http://www.w3.org/2000/svg"><path d="M1 1l8 8M9 1l-8 8"/></svg>\n',
        },
        tags: ['v3.1.0'],
      },
    ],
  },
];

/** Repositories for the end-to-end tests: every ref kind, modes, links, paths. */
export const TEST_REPOS: RepoFixture[] = [
  {
    repo: 'acme/utils',
    commits: [
      { files: { 'README.md': 'utils 1.0\n' }, tags: ['v1.0.0'] },
      {
        files: {
          'README.md': 'utils 1.4\n',
          'bin/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
          'lib/index.js': 'export default 14;\n',
          'lib/link.js': { symlink: 'index.js' },
          'readme-link': { symlink: 'README.md' },
        },
        tags: ['v1.4.0'],
        branches: ['feature/x'],
      },
      { files: { 'README.md': 'utils 2.0\n', 'lib/index.js': 'export default 20;\n' }, tags: ['v2.0.0', '2.1.0'] },
      { files: { 'README.md': 'utils 3 beta\n' }, tags: ['v3.0.0-beta.1'] },
    ],
  },
  {
    repo: 'acme/icon-set',
    commits: [{ files: { 'src/a.txt': 'source\n', 'dist/icon.svg': '<svg/>\n', 'dist/sub/small.svg': '<svg id="s"/>\n' }, tags: ['v3.1.0'] }],
  },
  {
    repo: 'design-team/theme',
    commits: [{ files: { 'theme.css': 'a { color: red }\n' } }, { files: { 'theme.css': 'a { color: blue }\n' } }],
  },
];
