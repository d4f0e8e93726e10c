import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';

/**
 * What the /chat namespace's adapter does with a member of a room when it delivers to it: a broadcast calls
 * `notifyOutgoingListeners(packet)` and `client.writeToEngine(…)`, `socketsJoin`/`socketsLeave` call `join`/`leave`,
 * `disconnectSockets` calls `disconnect`. A plain-WebSocket connection (CompatConnection) implements those.
 */
export interface RoomMember {
  readonly id: string;
  readonly data: { userId: number };
  notifyOutgoingListeners(packet: { type: number; data?: unknown[] }): void;
  readonly client: { writeToEngine(): void };
  join(rooms: string | string[]): void;
  leave(room: string): void;
  disconnect(close?: boolean): void;
}

interface ApplyOptions {
  rooms: Set<string>;
  except?: Set<string>;
}

interface InMemoryAdapter {
  rooms: Map<string, Set<string>>;
  sids: Map<string, Set<string>>;
  addAll(id: string, rooms: Set<string>): void;
  del(id: string, room: string): void;
  delAll(id: string): void;
  apply(opts: ApplyOptions, callback: (member: unknown) => void): void;
}

/**
 * Puts plain-WebSocket connections into the /chat namespace's rooms, beside its Socket.IO sockets, so every
 * delivery reaches them by the one path that exists: the sharded adapter's broadcasts (from this gateway or any
 * other), DirectDelivery's local emits, room joins and leaves pushed by membership changes. Nothing is published
 * twice and nothing can disagree: a connection is one more member of `user:<id>` and `conversation:<id>`.
 *
 * The adapter knows only ids; it finds a room member through `nsp.sockets`. `apply` (socket.io-adapter 2.5's
 * in-memory adapter, which every delivery goes through) is replaced by the same loop that also looks in this hub.
 */
@Injectable()
export class CompatHub {
  private adapter?: InMemoryAdapter;
  private readonly members = new Map<string, RoomMember>();

  attach(nsp: Namespace): void {
    const adapter = nsp.adapter as unknown as InMemoryAdapter;
    this.adapter = adapter;
    const sockets = nsp.sockets as Map<string, unknown>;
    const members = this.members;
    adapter.apply = function apply(opts, callback) {
      const except = new Set<string>();
      for (const room of opts.except ?? []) for (const id of this.rooms.get(room) ?? []) except.add(id);
      const find = (id: string) => sockets.get(id) ?? members.get(id);
      if (opts.rooms.size > 0) {
        const seen = new Set<string>();
        for (const room of opts.rooms) {
          for (const id of this.rooms.get(room) ?? []) {
            if (seen.has(id) || except.has(id)) continue;
            const member = find(id);
            if (member) {
              callback(member);
              seen.add(id);
            }
          }
        }
      } else {
        for (const id of this.sids.keys()) {
          if (except.has(id)) continue;
          const member = find(id);
          if (member) callback(member);
        }
      }
    };
  }

  get size(): number {
    return this.members.size;
  }

  /** `member` joins its own room (as a Socket.IO socket does: DirectDelivery addresses sockets by id) and `rooms`. */
  add(member: RoomMember, rooms: string[]): void {
    this.members.set(member.id, member);
    this.join(member.id, rooms);
  }

  join(id: string, rooms: string[]): void {
    this.adapter?.addAll(id, new Set([id, ...rooms]));
  }

  leave(id: string, room: string): void {
    this.adapter?.del(id, room);
  }

  remove(id: string): void {
    if (!this.members.delete(id)) return;
    this.adapter?.delAll(id);
  }

  all(): IterableIterator<RoomMember> {
    return this.members.values();
  }
}
