import { describe, expect, it } from 'vitest';
import { payloadShapeLimits } from '../wire/limits.js';
import { payloadShapeProblem } from './validators.js';

const deep = (depth: number): unknown => {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describe('payloadShapeProblem', () => {
  it('accepts what valid payloads look like', () => {
    expect(payloadShapeProblem({ a: 1, b: 'x', c: [1, 2, { d: null }] }, payloadShapeLimits)).toBeUndefined();
    expect(payloadShapeProblem(deep(payloadShapeLimits.maxDepth), payloadShapeLimits)).toBeUndefined();
  });

  it('refuses depth and size past the limits without recursing, however deep', () => {
    const tooDeep = 'payload is too deeply nested or has too many values';
    expect(payloadShapeProblem(deep(payloadShapeLimits.maxDepth + 1), payloadShapeLimits)).toBe(tooDeep);
    // Deeper than any call stack: a recursive walk would throw RangeError here.
    expect(payloadShapeProblem({ x: deep(1_000_000) }, payloadShapeLimits)).toBe(tooDeep);
    expect(payloadShapeProblem(new Array(payloadShapeLimits.maxValues).fill(0), payloadShapeLimits)).toBe(
      tooDeep,
    );
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    expect(payloadShapeProblem(wide, payloadShapeLimits)).toBe(tooDeep);
  });

  it('names a prototype-polluting key at any depth', () => {
    expect(payloadShapeProblem(JSON.parse('{"a":{"b":[{"__proto__":{"x":1}}]}}'), payloadShapeLimits)).toBe(
      'property __proto__ should not exist',
    );
    expect(payloadShapeProblem({ constructor: 1 }, payloadShapeLimits)).toBe(
      'property constructor should not exist',
    );
  });
});
