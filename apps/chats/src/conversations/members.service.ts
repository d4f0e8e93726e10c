import { Inject, Injectable } from '@nestjs/common';
import type { Id, MemberRole, MembershipChange, Message, RpcRequest, RpcResponse } from '@parley/contracts';
import { decodeCursor, encodeCursor } from '../common/cursor.js';
import { Errors } from '../common/domain.error.js';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Db, type Querier } from '../database/db.service.js';
import {
  appendSystemMessage,
  changeOf,
  conversationState,
  displayNames,
  lockConversation,
  nameList,
  roleOf,
  type LockedConversation,
} from './conversation.queries.js';

/** Member pages go by user id. */
const CURSOR = 'm1';

/**
 * A group's members: the page with read receipts, and every change of who is in it and with which role. A change
 * locks the conversation row, checks the caller's role, changes the rows, and records a system message (the next
 * seq) and a membership event, all in one transaction: concurrent changes of one group go one at a time, so the
 * member set and `member_count` stay consistent and `seq` stays gapless.
 *
 * Who may do what: owner and admins add members and remove members; only the owner removes admins and changes
 * roles; nobody removes the owner; anyone may leave. An owner who leaves hands the group to its longest-standing
 * admin, else its longest-standing member.
 */
@Injectable()
export class MembersService {
  constructor(
    private readonly db: Db,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
  ) {}

  /** A page of members in user id order (the primary key's order: any page costs the same). */
  async list(req: RpcRequest<'members.list'>): Promise<RpcResponse<'members.list'>> {
    const after = req.cursor === null ? 0 : decodeCursor(CURSOR, req.cursor);
    await roleOf(this.db, req.conversation_id, req.user_id).catch(async (err: unknown) => {
      await conversationState(this.db, req.conversation_id); // 404 first, when there is no such conversation
      throw err;
    });
    const rows = await this.db.query<{
      id: Id;
      username: string;
      display_name: string;
      created_at: Date;
      role: MemberRole;
      joined_at: Date;
      last_read_seq: number;
    }>({
      text: `SELECT u.id, u.username, u.display_name, u.created_at, p.role, p.joined_at, p.last_read_seq
             FROM conversation_participants p JOIN users u ON u.id = p.user_id
             WHERE p.conversation_id = $1 AND p.user_id > $2
             ORDER BY p.user_id LIMIT $3`,
      values: [req.conversation_id, after, req.limit + 1],
    });
    const page = rows.slice(0, req.limit);
    return {
      members: page.map((r) => ({
        user: {
          id: r.id,
          username: r.username,
          display_name: r.display_name,
          created_at: r.created_at.toISOString(),
        },
        role: r.role,
        joined_at: r.joined_at.toISOString(),
        last_read_seq: r.last_read_seq,
      })),
      next_cursor: rows.length > req.limit ? encodeCursor(CURSOR, page[page.length - 1]!.id) : null,
    };
  }

  /** Adds users who are not members yet (members already in are skipped): `{added}` names the new ones. */
  async add(req: RpcRequest<'members.add'>): Promise<MembershipChange> {
    return this.change(req.user_id, req.conversation_id, async (tx, conv, role) => {
      if (role === 'member') throw Errors.notAllowed();
      const known = await displayNames(tx, req.user_ids);
      if (known.size !== req.user_ids.length) throw Errors.userNotFound();
      const fresh = await tx.query<{ user_id: Id }>({
        text: `SELECT u AS user_id FROM unnest($2::bigint[]) AS u
               WHERE NOT EXISTS (SELECT 1 FROM conversation_participants p
                                 WHERE p.conversation_id = $1 AND p.user_id = u)
               ORDER BY u`,
        values: [conv.id, req.user_ids],
      });
      const added = fresh.map((r) => Number(r.user_id));
      if (added.length === 0) return { messages: [], added, removed: [] };
      if (conv.member_count + added.length > this.config.groupMaxMembers) throw Errors.groupTooLarge();
      conv.member_count += added.length;
      const seq = conv.last_seq + 1;
      await tx.query({
        text: `INSERT INTO conversation_participants (conversation_id, user_id, role, last_read_seq, read_total)
               SELECT $1, u, 'member', $2, $3 FROM unnest($4::bigint[]) AS u`,
        values: [conv.id, seq, conv.unread_total, added],
      });
      await this.recordMemberCount(tx, conv);
      await this.recordEvents(tx, conv.id, added, req.user_id, 'added', 'member', seq);
      const names = await displayNames(tx, [req.user_id]);
      const message = await appendSystemMessage(tx, conv, {
        actorId: req.user_id,
        action: 'member_added',
        userIds: added,
        content: `${names.get(req.user_id)} added ${nameList(added.map((id) => known.get(id)!))}`,
        fanoutMax: this.config.groupFanoutMax,
      });
      return { messages: [message], added, removed: [] };
    });
  }

  /** Removes a member, or (`member_id` is the caller) leaves. */
  async remove(req: RpcRequest<'members.remove'>): Promise<MembershipChange> {
    const leaving = req.member_id === req.user_id;
    return this.change(req.user_id, req.conversation_id, async (tx, conv, role) => {
      const targetRole = leaving ? role : await this.roleOfMember(tx, conv.id, req.member_id);
      if (
        !leaving &&
        (targetRole === 'owner' || role === 'member' || (targetRole === 'admin' && role !== 'owner'))
      ) {
        throw Errors.notAllowed();
      }
      await tx.query({
        text: `DELETE FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2`,
        values: [conv.id, req.member_id],
      });
      conv.member_count -= 1;
      await this.recordMemberCount(tx, conv);
      const names = await displayNames(tx, [req.user_id, req.member_id]);
      await this.recordEvents(
        tx,
        conv.id,
        [req.member_id],
        req.user_id,
        leaving ? 'left' : 'removed',
        null,
        conv.last_seq + 1,
      );
      const messages: Message[] = [
        await appendSystemMessage(tx, conv, {
          actorId: req.user_id,
          action: leaving ? 'member_left' : 'member_removed',
          userIds: [req.member_id],
          content: leaving
            ? `${names.get(req.user_id)} left`
            : `${names.get(req.user_id)} removed ${names.get(req.member_id)}`,
          fanoutMax: this.config.groupFanoutMax,
        }),
      ];
      if (leaving && role === 'owner') {
        const handover = await this.handOver(tx, conv, req.user_id);
        if (handover) messages.push(handover);
      }
      return { messages, added: [], removed: [req.member_id] };
    });
  }

  /** Makes a member an admin or back a member (the owner only). */
  async setRole(req: RpcRequest<'members.set-role'>): Promise<MembershipChange> {
    return this.change(req.user_id, req.conversation_id, async (tx, conv, role) => {
      if (role !== 'owner' || req.member_id === req.user_id) throw Errors.notAllowed();
      const current = await this.roleOfMember(tx, conv.id, req.member_id);
      if (current === req.role) return { messages: [], added: [], removed: [] };
      await tx.query({
        text: `UPDATE conversation_participants SET role = $3 WHERE conversation_id = $1 AND user_id = $2`,
        values: [conv.id, req.member_id, req.role],
      });
      await this.recordEvents(
        tx,
        conv.id,
        [req.member_id],
        req.user_id,
        'role_changed',
        req.role,
        conv.last_seq + 1,
      );
      const names = await displayNames(tx, [req.user_id, req.member_id]);
      const message = await appendSystemMessage(tx, conv, {
        actorId: req.user_id,
        action: 'role_changed',
        userIds: [req.member_id],
        content:
          req.role === 'admin'
            ? `${names.get(req.user_id)} made ${names.get(req.member_id)} an admin`
            : `${names.get(req.user_id)} made ${names.get(req.member_id)} a member`,
        fanoutMax: this.config.groupFanoutMax,
      });
      return { messages: [message], added: [], removed: [] };
    });
  }

  /** The role of the member a change is about: 404 User not found when they are not a member. */
  private roleOfMember(tx: Querier, conversationId: Id, memberId: Id): Promise<MemberRole> {
    return roleOf(tx, conversationId, memberId).catch(() => {
      throw Errors.userNotFound();
    });
  }

  /** The owner left: the longest-standing admin, else member, becomes the owner (a `role_changed` message). */
  private async handOver(tx: Querier, conv: LockedConversation, formerOwner: Id): Promise<Message | null> {
    const [heir] = await tx.query<{ user_id: Id }>({
      text: `UPDATE conversation_participants SET role = 'owner'
             WHERE conversation_id = $1 AND user_id = (
               SELECT user_id FROM conversation_participants WHERE conversation_id = $1
               ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1)
             RETURNING user_id`,
      values: [conv.id],
    });
    if (!heir) return null;
    const heirId = Number(heir.user_id);
    await this.recordEvents(tx, conv.id, [heirId], formerOwner, 'role_changed', 'owner', conv.last_seq + 1);
    const names = await displayNames(tx, [heirId]);
    return appendSystemMessage(tx, conv, {
      actorId: formerOwner,
      action: 'role_changed',
      userIds: [heirId],
      content: `${names.get(heirId)} is now the owner`,
      fanoutMax: this.config.groupFanoutMax,
    });
  }

  /**
   * The frame of every change: lock, check the caller is a member of a group, run `work`, then read what the
   * gateway needs to broadcast it, in the same transaction.
   */
  private change(
    userId: Id,
    conversationId: Id,
    work: (
      tx: Querier,
      conv: LockedConversation,
      role: MemberRole,
    ) => Promise<{ messages: Message[]; added: Id[]; removed: Id[] }>,
  ): Promise<MembershipChange> {
    return this.db.transaction(async (tx) => {
      const conv = await lockConversation(tx, conversationId);
      const role = await roleOf(tx, conv.id, userId);
      if (conv.type === 'direct') throw Errors.directMembership();
      const done = await work(tx, conv, role);
      return changeOf(tx, conv.id, userId, done, this.config.presenceGroupMax);
    });
  }

  /**
   * Stores the new member count. A group that grew past GROUP_FANOUT_MAX stops moving its members' list rows on
   * each message: they now read its place from the conversation (see ParticipantEntity.activity).
   */
  private async recordMemberCount(tx: Querier, conv: LockedConversation): Promise<void> {
    await tx.query({
      text: `UPDATE conversations SET member_count = $2 WHERE id = $1`,
      values: [conv.id, conv.member_count],
    });
    if (conv.member_count > this.config.groupFanoutMax) {
      await tx.query({
        text: `UPDATE conversation_participants SET activity = NULL
               WHERE conversation_id = $1 AND activity IS NOT NULL`,
        values: [conv.id],
      });
    }
  }

  private async recordEvents(
    tx: Querier,
    conversationId: Id,
    userIds: Id[],
    actorId: Id,
    action: 'added' | 'removed' | 'left' | 'role_changed',
    role: string | null,
    seq: number,
  ): Promise<void> {
    await tx.query({
      text: `INSERT INTO membership_events (conversation_id, user_id, actor_id, action, role, seq)
             SELECT $1, u, $3, $4, $5, $6 FROM unnest($2::bigint[]) AS u`,
      values: [conversationId, userIds, actorId, action, role, seq],
    });
  }
}
