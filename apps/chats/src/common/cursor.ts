import { Errors } from './domain.error.js';

/**
 * Opaque page cursors: a tag naming the list (and its version) and the integer key of a page's last row, base64url.
 * A cursor of another list, or anything else, is `Invalid cursor` (400).
 */
export function encodeCursor(tag: string, value: number): string {
  return Buffer.from(`${tag}:${value}`).toString('base64url');
}

export function decodeCursor(tag: string, cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = text.startsWith(`${tag}:`) ? /^(\d{1,16})$/.exec(text.slice(tag.length + 1)) : null;
  const value = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(value)) throw Errors.invalidCursor();
  return value;
}
