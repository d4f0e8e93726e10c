import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Rooms, ServerEvent, SharedRedisKeys, type Id } from '@parley/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Namespace, Socket } from 'socket.io';
import { CompatHub } from '../compat/compat-hub.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { INSTANCE_ID } from '../gateway.tokens.js';
import { RedisService } from '../redis/redis.service.js';
import { ContactsCache } from './contacts.cache.js';
import {
  PRESENCE_ADD,
  PRESENCE_DEAD_INSTANCES,
  PRESENCE_HEARTBEAT,
  PRESENCE_REMOVE,
} from './presence.scripts.js';

interface PresenceScripts {
  parleyPresenceAdd(user: string, version: string, socketId: string, instance: string): Promise<number>;
  parleyPresenceRemove(user: string, version: string, socketId: string): Promise<number>;
  parleyPresenceHeartbeat(instances: string, instance: string): Promise<number>;
  parleyPresenceDead(instances: string, ttlMs: number): Promise<string[]>;
}

/** What a gateway publishes on a presence transition; every gateway relays it to the contacts' sockets it holds. */
interface Transition {
  u: Id;
  on: boolean;
  v: number;
  c: Id[];
}

/**
 * Published when users became each other's contacts (a direct conversation, a small group, users added to one):
 * every user of `a` now sees those of `b` and the reverse, with each one's presence (online, version) then.
 */
interface NewContacts {
  a: Id[];
  b: Id[];
  state: Record<Id, [boolean, number]>;
}

/**
 * Published when a block or an unblock changes who sees whom: every gateway forgets both users' cached contacts,
 * and after a block (`offline`) each one's sockets see the other go offline.
 */
interface ChangedContacts {
  forget: [Id, Id];
  offline: boolean;
}

/**
 * Presence across instances and devices: a user is online while any of their sockets is connected to any gateway.
 * Transitions are announced to the users who share a conversation with them. Gateways heartbeat in Redis; when one
 * stops (killed), the others remove its sockets and announce the users who are left without any.
 */
@Injectable()
export class PresenceService implements OnModuleDestroy {
  private readonly logger = new Logger('Presence');
  private readonly scripts: PresenceScripts;
  private nsp?: Namespace;
  private timer?: NodeJS.Timeout;
  private draining = false;
  /** Highest version delivered per user, so late events are dropped; pruned after 10 minutes. */
  private readonly delivered = new Map<Id, { v: number; at: number }>();

  constructor(
    private readonly redis: RedisService,
    private readonly contacts: ContactsCache,
    private readonly compat: CompatHub,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {
    const r = redis.commands;
    r.defineCommand('parleyPresenceAdd', { numberOfKeys: 2, lua: PRESENCE_ADD });
    r.defineCommand('parleyPresenceRemove', { numberOfKeys: 2, lua: PRESENCE_REMOVE });
    r.defineCommand('parleyPresenceHeartbeat', { numberOfKeys: 1, lua: PRESENCE_HEARTBEAT });
    r.defineCommand('parleyPresenceDead', { numberOfKeys: 1, lua: PRESENCE_DEAD_INSTANCES });
    this.scripts = r as unknown as PresenceScripts;
  }

  /** Starts heartbeats, the sweep of dead gateways, and the relay of transitions to local sockets. */
  async attach(nsp: Namespace): Promise<void> {
    this.nsp = nsp;
    const channel = this.redis.key('presence');
    this.redis.events.on('message', (ch: string, raw: string) => {
      if (ch === channel) this.relay(raw);
    });
    await this.redis.events.subscribe(channel);
    // The connection is already up: every later 'ready' is a reconnect, after which Redis may have lost its data.
    // Put this instance's sockets back.
    this.redis.commands.on('ready', () => void this.reregister());
    await this.heartbeat();
    this.timer = setInterval(() => void this.tick(), this.config.presenceHeartbeatMs);
    this.timer.unref();
  }

  /** Registers a new socket; announces the user if it is their first anywhere; tells the socket who is online. */
  async connected(socket: Socket, userId: Id): Promise<void> {
    const contacts = await this.register(socket, userId);
    await this.sendSnapshot(socket, contacts);
  }

  private async register(socket: Socket, userId: Id): Promise<Id[]> {
    // The instance's set first (the same write on a single Redis; another slot on a cluster), then the user's keys.
    const listed = this.redis.commands.sadd(this.socketsKey(this.instanceId), `${userId}|${socket.id}`);
    const v = await this.scripts.parleyPresenceAdd(
      this.userKey(userId),
      this.versionKey(userId),
      socket.id,
      this.instanceId,
    );
    await listed;
    const contacts = await this.contacts.get(userId);
    if (v > 0) await this.publish({ u: userId, on: true, v, c: contacts });
    return contacts;
  }

  /** Sockets the user has open on all gateways (0 when Redis cannot say: the connection fails on its own then). */
  socketCount(userId: Id): Promise<number> {
    return this.redis.commands.hlen(this.userKey(userId)).catch(() => 0);
  }

  async disconnected(socket: Socket, userId: Id): Promise<void> {
    // While draining, sockets are told to reconnect elsewhere; their entries go after a grace period (see below).
    if (this.draining) return;
    await this.remove(this.instanceId, socket.id, userId);
  }

  /**
   * Shutdown, after this instance's sockets were told to reconnect elsewhere: wait a little so they do, then
   * remove this instance's entries. Users who reconnected keep a socket and see no offline/online flap.
   */
  async drain(): Promise<void> {
    this.draining = true;
    clearInterval(this.timer);
    const grace = Math.min(3000, Math.max(0, this.config.shutdownTimeoutMs / 4));
    await new Promise((r) => setTimeout(r, grace));
    await this.sweepInstance(this.instanceId).catch((err: unknown) =>
      this.logger.warn(`cleanup failed: ${String(err)}`),
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async remove(instanceId: string, socketId: string, userId: Id): Promise<void> {
    const v = await this.scripts.parleyPresenceRemove(
      this.userKey(userId),
      this.versionKey(userId),
      socketId,
    );
    await this.redis.commands.srem(this.socketsKey(instanceId), `${userId}|${socketId}`);
    if (v === 0) return;
    // Bounded: a sweep (or a drain) must not wait out RPC timeouts when the chats service is slow or down; the
    // offline announcement is then skipped (contacts see it on their next connect's snapshot).
    const contacts = await Promise.race([this.contacts.get(userId), sleep(1000).then(() => undefined)]);
    if (contacts) await this.publish({ u: userId, on: false, v, c: contacts });
    else this.logger.warn(`offline of user ${userId} not announced: contacts unavailable`);
  }

  /**
   * Users just became each other's contacts (`a` × `b`): every gateway forgets their cached contacts and tells
   * each one's sockets which of the others are online. A transition already delivered with a higher version wins
   * over this snapshot.
   */
  async contactsAdded(a: Id[], b: Id[]): Promise<void> {
    const users = [...new Set([...a, ...b])];
    // Each user's presence and version read together (one MULTI per user: their keys share a slot).
    const reads = await Promise.all(
      users.map((id) => this.redis.commands.multi().exists(this.userKey(id)).get(this.versionKey(id)).exec()),
    );
    const state: Record<Id, [boolean, number]> = {};
    users.forEach((id, i) => {
      const [[existsErr, exists], [versionErr, version]] = reads[i] as [
        [Error | null, unknown],
        [Error | null, unknown],
      ];
      if (existsErr || versionErr) throw existsErr ?? versionErr;
      state[id] = [exists === 1, Number(version ?? 0)];
    });
    const message: NewContacts = { a, b, state };
    await this.redis.commands.publish(this.redis.key('presence'), JSON.stringify(message));
  }

  /**
   * A block (`offline`: no presence either way from now on) or an unblock between two users, on every gateway. An
   * unblock only drops the cached contacts: the two see each other again from the next transition or connect if
   * they share a conversation (announcing one's state now could tell a stranger they are online).
   */
  async contactsChanged(a: Id, b: Id, offline: boolean): Promise<void> {
    const message: ChangedContacts = { forget: [a, b], offline };
    await this.redis.commands.publish(this.redis.key('presence'), JSON.stringify(message));
  }

  /** The connecting socket learns which of its contacts are online now (as `user:online` events). */
  private async sendSnapshot(socket: Socket, contacts: Id[]): Promise<void> {
    if (contacts.length === 0) return;
    // One command per contact: on a single Redis they leave in one write; on a cluster each goes to its slot's node.
    const online = await Promise.all(contacts.map((id) => this.redis.commands.exists(this.userKey(id))));
    contacts.forEach((id, i) => {
      if (online[i] === 1) socket.emit(ServerEvent.UserOnline, { userId: id });
    });
  }

  private async publish(t: Transition): Promise<void> {
    await this.redis.commands.publish(this.redis.key('presence'), JSON.stringify(t));
  }

  private relay(raw: string): void {
    let t: Transition | NewContacts | ChangedContacts;
    try {
      t = JSON.parse(raw) as Transition | NewContacts | ChangedContacts;
    } catch {
      return;
    }
    if ('state' in t) return this.relayNewContacts(t);
    if ('forget' in t) return this.relayChangedContacts(t);
    const seen = this.delivered.get(t.u);
    if (seen && seen.v >= t.v) return; // an older transition arriving late
    this.delivered.set(t.u, { v: t.v, at: Date.now() });
    if (!this.nsp || t.c.length === 0) return;
    this.nsp.local
      .to(t.c.map(Rooms.user))
      .emit(t.on ? ServerEvent.UserOnline : ServerEvent.UserOffline, { userId: t.u });
  }

  private relayNewContacts({ a, b, state }: NewContacts): void {
    this.contacts.forget(...a, ...b);
    if (!this.nsp) return;
    const announce = (others: Id[], to: Id[]) => {
      for (const other of others) {
        const [online, version] = state[other] ?? [false, 0];
        const seen = this.delivered.get(other);
        if (!online || (seen && seen.v > version)) continue;
        const rooms = to.filter((u) => u !== other).map(Rooms.user);
        if (rooms.length > 0) this.nsp!.local.to(rooms).emit(ServerEvent.UserOnline, { userId: other });
      }
    };
    announce(b, a);
    announce(a, b);
  }

  private relayChangedContacts({ forget: [a, b], offline }: ChangedContacts): void {
    this.contacts.forget(a, b);
    if (!offline) return;
    this.nsp?.local.to(Rooms.user(a)).emit(ServerEvent.UserOffline, { userId: b });
    this.nsp?.local.to(Rooms.user(b)).emit(ServerEvent.UserOffline, { userId: a });
  }

  private async tick(): Promise<void> {
    try {
      await this.heartbeat();
      const dead = await this.scripts.parleyPresenceDead(
        this.redis.key('presence:instances'),
        this.config.presenceInstanceTtlMs,
      );
      for (const id of dead) {
        if (id === this.instanceId) continue;
        // One sweeper per dead instance.
        const lock = await this.redis.commands.set(
          this.redis.key(`presence:sweep:${id}`),
          this.instanceId,
          'PX',
          60_000,
          'NX',
        );
        if (lock) await this.sweepInstance(id);
      }
    } catch (err) {
      this.logger.warn(`presence tick failed: ${(err as Error).message}`);
    }
    const cutoff = Date.now() - 600_000;
    for (const [u, e] of this.delivered) if (e.at < cutoff) this.delivered.delete(u);
  }

  private async heartbeat(): Promise<void> {
    await this.scripts.parleyPresenceHeartbeat(this.redis.key('presence:instances'), this.instanceId);
  }

  /** Removes every socket an instance registered, announcing users left with none. */
  private async sweepInstance(instanceId: string): Promise<void> {
    const members = await this.redis.commands.smembers(this.socketsKey(instanceId));
    for (let i = 0; i < members.length; i += 100) {
      await Promise.all(
        members.slice(i, i + 100).map(async (member) => {
          const [userId, socketId] = member.split('|');
          if (userId && socketId) await this.remove(instanceId, socketId, Number(userId));
        }),
      );
    }
    await this.redis.commands.del(this.socketsKey(instanceId));
    await this.redis.commands.zrem(this.redis.key('presence:instances'), instanceId);
    if (instanceId !== this.instanceId && members.length > 0) {
      this.logger.log(
        `Gateway ${instanceId} stopped answering: removed its ${members.length} sockets from presence`,
      );
    }
  }

  private async reregister(): Promise<void> {
    if (!this.nsp || this.draining) return;
    try {
      await this.heartbeat();
      for (const socket of this.nsp.sockets.values()) {
        const userId = (socket.data as { userId?: Id }).userId;
        if (userId) await this.register(socket, userId);
      }
      for (const conn of this.compat.all()) await this.register(conn as unknown as Socket, conn.data.userId);
    } catch (err) {
      this.logger.warn(`could not re-register sockets after a Redis reconnect: ${(err as Error).message}`);
    }
  }

  private userKey(userId: Id): string {
    return this.redis.key(SharedRedisKeys.presenceUser(userId));
  }

  private socketsKey(instanceId: string): string {
    return this.redis.key(`presence:sockets:${instanceId}`);
  }

  private versionKey(userId: Id): string {
    return this.redis.key(`presence:version:{${userId}}`);
  }
}
