/** The seeds whose clients Parley serves beside seed 003's Socket.IO clients (docs/compat.md). */
export const COMPAT_PROFILES = ['000', '001', '002', '004'] as const;
export type CompatProfile = (typeof COMPAT_PROFILES)[number];
