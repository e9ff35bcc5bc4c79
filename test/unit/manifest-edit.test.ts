import { describe, expect, it } from 'vitest';
import { editJson } from '../../src/project/manifest-edit.js';

describe('editJson', () => {
  it.each([
    // Adding to a 4-space file, no final newline.
    ['{\n    "modules": {\n        "a": "v1"\n    }\n}', [{ path: ['modules', 'b'], value: 'v2' }], '{\n    "modules": {\n        "a": "v1",\n        "b": "v2"\n    }\n}'],
    // Tabs and CRLF.
    ['{\r\n\t"modules": {\r\n\t\t"a": "v1"\r\n\t}\r\n}\r\n', [{ path: ['modules', 'b'], value: { repo: 'w/b', ref: 'main' } }], '{\r\n\t"modules": {\r\n\t\t"a": "v1",\r\n\t\t"b": {\r\n\t\t\t"repo": "w/b",\r\n\t\t\t"ref": "main"\r\n\t\t}\r\n\t}\r\n}\r\n'],
    // A one-line object keeps its line; only the ref changes.
    ['{\n  "modules": {\n    "theme": { "repo": "d/theme", "ref": "v1" },\n    "a": "v1"\n  }\n}\n', [{ path: ['modules', 'theme', 'ref'], value: 'v2' }], '{\n  "modules": {\n    "theme": { "repo": "d/theme", "ref": "v2" },\n    "a": "v1"\n  }\n}\n'],
    // Removing leaves the rest, blank lines included, byte for byte.
    ['{\n  "workspace": "w",\n\n  "modules": { "a": "v1", "b": "v2" }\n}\n', [{ path: ['modules', 'a'], value: undefined }], '{\n  "workspace": "w",\n\n  "modules": { "b": "v2" }\n}\n'],
    ['{ "modules": { "a": "v1", "b": "v2" } }', [{ path: ['modules', 'b'], value: undefined }], '{ "modules": { "a": "v1" } }'],
    ['{\n  "modules": {\n    "a": "v1"\n  }\n}', [{ path: ['modules', 'a'], value: undefined }], '{\n  "modules": {}\n}'],
    // First, middle and last of several lines, next to a one-line object that stays one line.
    [
      '{\n  "modules": {\n    "a": "v1",\n    "t": { "repo": "d/t", "ref": "v1" },\n    "b": "v2",\n    "c": "v3"\n  }\n}\n',
      [{ path: ['modules', 'a'], value: undefined }, { path: ['modules', 'b'], value: undefined }, { path: ['modules', 'c'], value: undefined }],
      '{\n  "modules": {\n    "t": { "repo": "d/t", "ref": "v1" }\n  }\n}\n',
    ],
  ])('edits %j in place', (text, edits, expected) => {
    expect(editJson(text, edits)).toBe(expected);
  });
});
