import { describe, expect, it } from 'vitest';
import { parseLsn } from './read-replica.js';

describe('parseLsn', () => {
  it('orders WAL positions as Postgres does (high word first, hex, unpadded)', () => {
    expect(parseLsn(null)).toBeNull();
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn('1/0')! > parseLsn('0/FFFFFFFF')!).toBe(true);
    expect(parseLsn('0/A0')! > parseLsn('0/9F')!).toBe(true);
  });
});
