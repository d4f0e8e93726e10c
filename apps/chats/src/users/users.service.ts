import { Inject, Injectable } from '@nestjs/common';
import type { RpcRequest, RpcResponse, User } from '@parley/contracts';
import { Errors } from '../common/domain.error.js';
import { toUser, toUserProfile, USER_COLUMNS, type UserProfileRow, type UserRow } from '../common/rows.js';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';
import { Db } from '../database/db.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { PasswordHasher } from './password-hasher.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionsService,
    @Inject(CHATS_CONFIG) private readonly config: ChatsConfig,
  ) {}

  /**
   * Creates the user and their first session in one transaction. A username already taken by this very request
   * (handled twice: its first consumer died after the commit) is recognized by the session it started.
   */
  async register(req: RpcRequest<'users.register'>): Promise<RpcResponse<'users.register'>> {
    const passwordHash = await this.passwords.hash(req.password);
    const user = await this.db.transaction(async (tx) => {
      const [created] = await tx
        .query<UserRow>({
          text: `INSERT INTO users (username, username_key, display_name, password_hash, email, email_key)
                 VALUES ($1::text, lower($1::text), $2, $3, $4::text, lower($4::text))
                 ON CONFLICT (username_key) DO NOTHING
                 RETURNING ${USER_COLUMNS}`,
          values: [req.username, req.display_name ?? req.username, passwordHash, req.email ?? null],
        })
        .catch((err: unknown) => {
          // Only the username's conflict is an arbiter above: a new user with a taken address fails here.
          if ((err as { constraint?: string }).constraint === 'users_email_key_key')
            throw Errors.emailTaken();
          throw err;
        });
      if (!created) {
        const [mine] = await tx.query<UserRow>({
          text: `SELECT u.id, u.username, u.display_name, u.created_at
                 FROM users u JOIN sessions s ON s.user_id = u.id AND s.id = $2
                 WHERE u.username_key = lower($1)`,
          values: [req.username, req.session.id],
        });
        if (!mine) throw Errors.usernameTaken();
        return mine;
      }
      await this.sessions.start(tx, created.id, req.session);
      return created;
    });
    return { user: toUser(user) };
  }

  /**
   * Verifies the password here (hashes never leave the chats service) and starts a session. The user is named by
   * username, or by e-mail address.
   */
  async login(req: RpcRequest<'users.login'>): Promise<RpcResponse<'users.login'>> {
    type Row = UserRow & { password_hash: string };
    const [row] =
      req.username === undefined && req.email !== undefined
        ? await this.db.query<Row>({
            text: `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE email_key = lower($1)`,
            values: [req.email],
          })
        : await this.db.query<Row>({
            text: `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE username_key = lower($1)`,
            values: [req.username ?? ''],
          });
    if (!row) {
      await this.passwords.burn(req.password);
      throw Errors.invalidCredentials();
    }
    if (!(await this.passwords.verify(row.password_hash, req.password))) throw Errors.invalidCredentials();
    await this.sessions.start(this.db, row.id, req.session);
    return { user: toUser(row) };
  }

  async findByUsername(req: RpcRequest<'users.find-by-username'>): Promise<User> {
    const rows: UserRow[] = await this.db.query({
      text: `SELECT ${USER_COLUMNS} FROM users WHERE username_key = lower($1)`,
      values: [req.username],
    });
    if (rows.length === 0) throw Errors.userNotFound();
    return toUser(rows[0]!);
  }

  async getMany(req: RpcRequest<'users.get-many'>): Promise<RpcResponse<'users.get-many'>> {
    const rows: UserProfileRow[] = await this.db.query({
      text: `SELECT ${USER_COLUMNS}, role FROM users WHERE id = ANY($1::bigint[])`,
      values: [req.user_ids],
    });
    return { users: rows.map(toUserProfile) };
  }

  async get(req: RpcRequest<'users.get'>): Promise<User> {
    const rows: UserRow[] = await this.db.query({
      text: `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`,
      values: [req.user_id],
    });
    if (rows.length === 0) throw Errors.userNotFound();
    return toUser(rows[0]!);
  }

  /**
   * The audience of the user's presence: who shares a direct conversation, or a group of at most
   * PRESENCE_GROUP_MAX members, with them, but for users where either blocked the other. Index scans of the
   * user's participant rows.
   */
  async contacts(req: RpcRequest<'users.contacts'>): Promise<RpcResponse<'users.contacts'>> {
    const rows: { user_id: number }[] = await this.db.query({
      name: 'parley_contacts',
      text: `SELECT DISTINCT other.user_id
             FROM conversation_participants mine
             JOIN conversations c ON c.id = mine.conversation_id AND (c.type = 'direct' OR c.member_count <= $2)
             JOIN conversation_participants other ON other.conversation_id = mine.conversation_id
             WHERE mine.user_id = $1 AND other.user_id <> $1
               AND NOT EXISTS (SELECT 1 FROM user_blocks b
                               WHERE (b.blocker_id = $1 AND b.blocked_id = other.user_id)
                                  OR (b.blocker_id = other.user_id AND b.blocked_id = $1))`,
      values: [req.user_id, this.config.presenceGroupMax],
    });
    return { user_ids: rows.map((r) => r.user_id) };
  }
}
