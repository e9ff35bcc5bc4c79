import { describe, expect, it } from 'vitest';
import { detectLayout, formatWithLayout } from '../../src/manifest-edit.js';

describe('manifest layout', () => {
  it.each([
    ['{\n  "a": {\n    "b": 1\n  }\n}\n', 2, true],
    ['{\n    "a": 1\n}', 4, false],
    ['{\n\t"a": 1\n}\n', '\t', true],
  ])('keeps %j as written', (text, indent, finalNewline) => {
    const layout = detectLayout(text);
    expect(layout).toEqual({ indent, finalNewline });
    expect(formatWithLayout(JSON.parse(text), layout)).toBe(text);
  });
});
