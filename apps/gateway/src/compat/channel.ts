import { ClientEvent, ErrorMessages, MessageBodyDto, messageLimits, type Message } from '@parley/contracts';
import type { ConversationsService } from '../conversations/conversations.service.js';
import type { MembersService } from '../conversations/members.service.js';
import { StrictValidationPipe } from '../common/validation.pipe.js';
import type { MentorsService } from '../mentors/mentors.service.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { UsersService } from '../users/users.service.js';
import { socketErrorMessage } from '../realtime/ws-exception.filter.js';
import { CloseCode, type CompatConnection } from './compat-connection.js';

/** The application services a seed's socket calls: the same ones the Socket.IO handlers and REST call. */
export interface CompatServices {
  messages: MessagesService;
  conversations: ConversationsService;
  members: MembersService;
  users: UsersService;
  mentors: MentorsService;
}

const validation = new StrictValidationPipe();

/**
 * Sends a message of the connection's user. No sending socket is named: the connection is a member of the
 * conversation's room and gets its own message back as `receive-message`, the seeds' echo. A refusal is the
 * channel's error frame.
 */
export async function sendFrom(
  conn: CompatConnection,
  channel: CompatChannel,
  services: CompatServices,
  conversationId: number,
  body: MessageBodyDto,
): Promise<void> {
  try {
    await services.messages.send(conn.userId, conversationId, body, undefined, 'websocket');
  } catch (err) {
    channel.error(describe(err, ClientEvent.SendMessage));
  }
}

/**
 * A seed's message mapped to Parley's body, checked by the very rules REST and Socket.IO bodies are (their error
 * strings included): the validation pipe's BadRequestException when it breaks one.
 */
export async function validMessageBody(body: Record<string, unknown>): Promise<MessageBodyDto> {
  return (await validation.transform(body, { type: 'body', metatype: MessageBodyDto })) as MessageBodyDto;
}

/**
 * One plain-WebSocket endpoint of a seed, for one connection: `start` once it is open (joins, the history the
 * seed pushes on connect), `onFrame` for each JSON frame the client sends (in order, one at a time), and `render`
 * for each /chat event that reaches the connection's rooms.
 */
export interface CompatChannel {
  start(): Promise<void>;
  onFrame(frame: unknown): Promise<void>;
  /** An event of the connection's rooms (`error` goes to `error`). */
  render(event: string, payload: unknown): void;
  /** The seed's error frame (the connection stays open). */
  error(message: string): void;
}

export type ChannelFactory = (
  conn: CompatConnection,
  params: string[],
  services: CompatServices,
) => CompatChannel;

/** A seed's socket endpoint: its path (after the profile's mount point) and what serves it. */
export interface CompatRoute {
  path: RegExp;
  open: ChannelFactory;
}

/** The text a seed's frame carries in `field`, or the contract's error for it (as class-validator words them). */
export function checkText(value: unknown, field: string): { text: string } | { error: string } {
  if (typeof value !== 'string') return { error: `${field} must be a string` };
  if (value.length === 0) return { error: ErrorMessages.contentEmpty.replace('content', field) };
  if (value.length > messageLimits.contentMaxLength) {
    return {
      error: `${field} must be shorter than or equal to ${messageLimits.contentMaxLength} characters`,
    };
  }
  if (value.includes('\u0000') || !value.isWellFormed()) {
    return { error: `${field} must be valid text (no NUL characters or unpaired surrogates)` };
  }
  return { text: value };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The contract's string for a failure of what the frame stood for (`send-message`, `join-conversation`, …). */
export function describe(err: unknown, event: string): string {
  return socketErrorMessage(err, event);
}

/**
 * Live messages that reach a connection while it is still sending the history it pushes on connect are held, then
 * sent after it without the ones the history already had: the connection joins the room first and reads second,
 * so nothing committed meanwhile is missed, and nothing is sent twice. After that, live messages go out as they
 * come (two gateways' broadcasts may arrive in either order; none is dropped for it).
 */
export class LiveAfterHistory {
  private held: Message[] | null = [];
  private historySeq = 0;

  constructor(private readonly deliver: (message: Message) => void) {}

  /** A live message: held until the history went out, dropped when the history had it. */
  push(message: Message): void {
    if (this.held) this.held.push(message);
    else if (message.seq > this.historySeq) this.deliver(message);
  }

  /** The history went out, up to `lastSeq`: the held messages after it follow. */
  historySent(lastSeq: number): void {
    this.historySeq = lastSeq;
    const held = this.held ?? [];
    this.held = null;
    for (const message of held.sort((a, b) => a.seq - b.seq)) {
      if (message.seq > lastSeq) this.deliver(message);
    }
  }
}

/**
 * A channel's start failed on what it names (no such user or conversation, not a member, blocked): the seed's
 * error frame, then the close code for it. A failure of the service itself (busy, unavailable) is thrown on, for
 * the server to retry the start or close with its own code.
 */
export function refuseStart(
  conn: CompatConnection,
  channel: CompatChannel,
  err: unknown,
  message?: string,
): void {
  const kind = closeCodeFor(err);
  if (kind === 'unavailable') throw err;
  const text = message ?? describe(err, 'join-conversation');
  channel.error(text);
  conn.close(CloseCode[kind], text);
}

/** Closing an edge's endpoint when the conversation (or user) it names cannot be opened: which close code. */
export function closeCodeFor(err: unknown): 'forbidden' | 'notFound' | 'unauthorized' | 'unavailable' {
  const message = describe(err, 'join-conversation');
  if (
    message === ErrorMessages.conversationNotFound ||
    message === ErrorMessages.userNotFound ||
    message === ErrorMessages.noMentor
  )
    return 'notFound';
  if (
    message === ErrorMessages.notParticipantJoin ||
    message === ErrorMessages.blocked ||
    message === ErrorMessages.selfConversation
  )
    return 'forbidden';
  if (message === ErrorMessages.unauthorized) return 'unauthorized';
  return 'unavailable';
}
