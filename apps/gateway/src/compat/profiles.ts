import type { CompatRoute } from './channel.js';
import type { CompatProfile } from './profile-names.js';
import { Seed000Chat } from './seed000/seed000.chat.js';
import { Seed001Chat } from './seed001/seed001.chat.js';
import { Seed002Chat } from './seed002/seed002.chat.js';
import { Seed002Conversations } from './seed002/seed002.conversations.js';
import { Seed004Chat } from './seed004/seed004.chat.js';

/** A path segment that is an id: 1 to 16 digits, a safe integer. */
const ID = '([1-9]\\d{0,15})';

/** Each seed's socket endpoints, as the seed spells them (trailing slash included). */
export const COMPAT_ROUTES: Record<CompatProfile, CompatRoute[]> = {
  '000': [
    { path: new RegExp(`^/ws/chat/${ID}/$`), open: (conn, [id], s) => new Seed000Chat(conn, Number(id), s) },
  ],
  '001': [
    {
      path: /^\/ws\/chat\/my-conversation\/$/,
      open: (conn, _p, s) => new Seed001Chat(conn, { mine: true }, s),
    },
    {
      path: new RegExp(`^/ws/chat/conversations/${ID}/$`),
      open: (conn, [id], s) => new Seed001Chat(conn, { mine: false, conversationId: Number(id) }, s),
    },
  ],
  '002': [
    { path: new RegExp(`^/ws/chat/${ID}/$`), open: (conn, [id], s) => new Seed002Chat(conn, Number(id), s) },
    { path: /^\/ws\/conversations\/$/, open: (conn, params, s) => new Seed002Conversations(conn, params, s) },
  ],
  '004': [
    { path: new RegExp(`^/ws/chat/${ID}/$`), open: (conn, [id], s) => new Seed004Chat(conn, Number(id), s) },
  ],
};

/** Profiles whose sockets also authenticate with the session cookie (seed 001's Django session, docs/compat.md). */
export const COOKIE_PROFILES: ReadonlySet<CompatProfile> = new Set(['001']);
export const SESSION_COOKIE = 'sessionid';

/** Where a profile's paths are mounted: `/compat/<seed>` + the seed's path; the bare path for COMPAT_BARE_PATHS. */
export function mountPoint(profile: CompatProfile): string {
  return `/compat/${profile}`;
}

export interface MatchedRoute {
  profile: CompatProfile;
  route: CompatRoute;
  params: string[];
}

/** The endpoint `pathname` names among the enabled profiles, if any. */
export function matchRoute(
  pathname: string,
  enabled: readonly CompatProfile[],
  bare: CompatProfile | 'none',
): MatchedRoute | undefined {
  let profile: CompatProfile | undefined;
  let rest = pathname;
  const mounted = /^\/compat\/(\d{3})(\/.*)$/.exec(pathname);
  if (mounted) {
    profile = enabled.find((p) => p === mounted[1]);
    rest = mounted[2]!;
  } else if (bare !== 'none' && enabled.includes(bare)) {
    profile = bare;
  }
  if (!profile) return undefined;
  for (const route of COMPAT_ROUTES[profile]) {
    const match = route.path.exec(rest);
    if (match) return { profile, route, params: match.slice(1) };
  }
  return undefined;
}
