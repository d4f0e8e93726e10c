/* global document, window, sessionStorage, location, history, console, FormData, URL, setTimeout */
// Parley demo: a small chat front end on the browser SDK (@parley/client), no framework and no bundler.
// Everything users wrote (content, names, emojis, file names) is rendered with textContent or setAttribute, never
// as HTML; attachment URLs are used only when they are http(s).
import { ParleyApiError, ParleyAuth, ParleyClient, ParleyRest } from '@parley/client';
import { setUpPush, stopPush } from './push.js';

const TOKENS_KEY = 'parley.tokens';
const $ = (id) => document.getElementById(id);

// Tokens live in sessionStorage: per tab, so two tabs never spend the same (single-use) refresh token.
const auth = new ParleyAuth({
  baseUrl: '',
  tokens: readTokens(),
  onChange: (tokens) =>
    tokens
      ? sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens))
      : sessionStorage.removeItem(TOKENS_KEY),
});
const rest = new ParleyRest({ baseUrl: '', getToken: auth.getToken });

/** @type {ParleyClient | null} */
let client = null;
let me = null;
let active = null; // the open conversation's id
const users = new Map(); // id → User
const conversations = new Map(); // id → Conversation
const messages = new Map(); // conversation id → Message[] in ascending seq
const hasOlder = new Map(); // conversation id → boolean
const memberLists = new Map(); // group id → Member[] (with roles and read receipts)
const blocked = new Set(); // ids of the users you blocked
const lookups = new Map(); // user id → the lookup under way (one per user, however many messages ask)
let showMembers = false;
/** The composer's context: editing one of your messages, or replying to one ({mode, conversationId, messageId}). */
let composing = null;
let picking = null; // the message whose reaction picker is open
let confirmingDelete = null; // the message whose Delete was clicked once (a second click deletes)

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
const ATTACHMENT_ICONS = { image: '🖼', video: '🎬', audio: '🎵', file: '📎' };

function readTokens() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS_KEY) ?? 'null');
  } catch {
    return null;
  }
}

// ---- sign in ------------------------------------------------------------------------------------------------------

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const username = String(form.get('username') ?? '').trim();
  const password = String(form.get('password') ?? '');
  const displayName = String(form.get('display_name') ?? '').trim();
  const registering = event.submitter?.value === 'register';
  $('auth-error').textContent = '';
  for (const b of event.target.querySelectorAll('button')) b.disabled = true;
  try {
    if (registering) await auth.register(username, password, displayName || undefined);
    else await auth.login(username, password);
    event.target.reset();
    await start();
  } catch (err) {
    $('auth-error').textContent = err instanceof ParleyApiError ? err.message : String(err);
  } finally {
    for (const b of event.target.querySelectorAll('button')) b.disabled = false;
  }
});

$('logout').addEventListener('click', () => void logOut());

// Ends the session on the server first (its refresh token dies, and every socket of it closes), then here.
let loggingOut = false;
async function logOut() {
  loggingOut = true;
  $('logout').disabled = true;
  try {
    await stopPush(auth.getToken);
    await auth.logout(); // never rejects; forgets the tokens even when the server cannot be reached
  } finally {
    loggingOut = false;
    $('logout').disabled = false;
    stop();
  }
}

function showAuth() {
  $('auth').hidden = false;
  $('app').hidden = true;
  $('me').hidden = true;
  $('banner').hidden = true;
  $('username').focus();
}

function stop() {
  client?.close();
  client = null;
  me = null;
  active = null;
  composing = picking = confirmingDelete = null;
  for (const map of [users, conversations, messages, hasOlder, memberLists, blocked, lookups]) map.clear();
  // Still logged in when the session could not be resumed or the server ended it: end it there too, in the
  // background (a 401 just means it is over already), so that the sign-in form shows at once.
  // (The server's `Session ended` can close the client while logOut() still waits for its answer.)
  if (auth.loggedIn && !loggingOut) void auth.logout();
  history.replaceState(null, '', location.pathname);
  showAuth();
}

// ---- the chat -----------------------------------------------------------------------------------------------------

async function start() {
  me = await rest.me();
  users.set(me.id, me);
  $('auth').hidden = true;
  $('app').hidden = false;
  $('me').hidden = false;
  $('me-name').textContent = me.display_name || me.username;
  void setUpPush(auth.getToken, $('notify'));

  client = new ParleyClient({ url: '', getToken: auth.getToken, userId: me.id });
  client.on('state', showConnection);
  client.on('message', (m) => {
    addMessages(m.conversation_id, [m]);
    void knowUser(m.sender_id); // a group's members may be new to this page
    const c = conversations.get(m.conversation_id);
    if (c) {
      if (!c.last_message || c.last_message.seq < m.seq) c.last_message = m;
      c.last_seq = Math.max(c.last_seq, m.seq);
    }
    if (m.conversation_id === active) {
      renderMessages(m.sender_id === me.id);
      markReadIfSeen();
      if (m.message_type === 'system' && showMembers) void loadMembers(active); // who is in it changed
    }
    renderList();
  });
  // An edit, a deletion or a reaction (yours too, from any device), or a newer state from a catch-up.
  client.on('messageUpdated', ({ conversationId, message }) => {
    const list = messages.get(conversationId);
    const i = list?.findIndex((x) => x.id === message.id) ?? -1;
    if (i >= 0) list[i] = message;
    const c = conversations.get(conversationId);
    if (c?.last_message?.id === message.id) c.last_message = message;
    if (composing?.messageId === message.id && message.deleted_at !== null) stopComposing();
    if (conversationId === active) {
      renderMessages();
      renderComposer();
    }
    renderList();
  });
  client.on('joined', (e) => {
    if (!hasOlder.has(e.conversationId)) hasOlder.set(e.conversationId, e.hasOlder);
    if (e.conversationId === active) renderMessages();
    markReadIfSeen();
  });
  client.on('conversation', (c) => {
    conversations.set(c.id, { ...conversations.get(c.id), ...c });
    if (c.type !== 'group') void knowUser(otherOf(c));
    renderList();
    if (c.id === active) renderHeader();
  });
  // You left the group or were removed from it (here or on another device): it goes from the page.
  client.on('conversationRemoved', ({ conversationId }) => {
    for (const map of [conversations, messages, hasOlder, memberLists]) map.delete(conversationId);
    if (conversationId === active) closeConversation(true);
    renderList();
  });
  client.on('unread', () => renderList());
  client.on('presence', () => {
    renderList();
    renderHeader();
  });
  client.on('typing', (e) => e.conversationId === active && renderTyping());
  client.on('read', (e) => e.conversationId === active && renderMessages());
  client.on('error', (err) => console.warn('parley:', err.message));

  const [page, blocks] = await Promise.all([rest.conversations({ limit: 50 }), rest.blocks()]);
  for (const u of blocks.users) blocked.add(u.id);
  for (const c of page.conversations) conversations.set(c.id, c);
  client.trackConversations(page.conversations);
  await Promise.all(page.conversations.filter((c) => c.type !== 'group').map((c) => knowUser(otherOf(c))));
  renderList();
  client.connect().catch(() => undefined); // the banner shows the progress; 'closed' sends back to sign-in

  const fromHash = Number(/^#c(\d+)$/.exec(location.hash)?.[1]);
  if (conversations.has(fromHash)) openConversation(fromHash);
}

function showConnection(change) {
  const labels = {
    idle: 'offline',
    connecting: 'connecting…',
    connected: 'online',
    reconnecting: 'reconnecting…',
  };
  $('conn').dataset.state = change.state;
  $('conn').textContent = labels[change.state] ?? 'offline';
  const banner = $('banner');
  if (change.state === 'closed') {
    // The client closes by itself only when the session is over (`Unauthorized`: no token can be had;
    // `Session ended`: logged out here or on another device): sign in again.
    if (change.error !== undefined && me) stop();
    return;
  }
  if (change.state === 'connected' || change.state === 'connecting') {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  banner.textContent =
    change.delayMs !== undefined
      ? `Connection lost. Reconnecting in ${(change.delayMs / 1000).toFixed(1)} s (attempt ${change.attempt})…`
      : 'Connection lost. Reconnecting…';
  renderList(); // presence is unknown while disconnected
}

window.addEventListener('online', () => client?.reconnectNow());
document.addEventListener('visibilitychange', () => markReadIfSeen());

function otherOf(c) {
  return c.sender_id === me?.id ? c.receiver_id : c.sender_id;
}

const isGroup = (c) => c?.type === 'group';

function titleOf(c) {
  return isGroup(c) ? c.title : nameOf(otherOf(c));
}

function nameOf(id) {
  const u = users.get(id);
  return u ? u.display_name || u.username : `user ${id}`;
}

function knowUser(id) {
  if (id === null || users.has(id)) return Promise.resolve();
  if (!lookups.has(id)) {
    const lookup = rest
      .user(id)
      .then((user) => {
        users.set(id, user);
        renderList();
        renderHeader();
        renderMessages();
      })
      .catch((err) => console.warn('parley: user lookup failed', err))
      .finally(() => lookups.delete(id));
    lookups.set(id, lookup);
  }
  return lookups.get(id);
}

/** Merges messages into a conversation's list (in seq order; of two states of one message, the newer). */
function addMessages(conversationId, list) {
  const byId = new Map((messages.get(conversationId) ?? []).map((m) => [m.id, m]));
  for (const m of list) {
    const known = byId.get(m.id);
    if (!known || known.version < m.version) byId.set(m.id, m);
  }
  messages.set(
    conversationId,
    [...byId.values()].sort((a, b) => a.seq - b.seq),
  );
}

/** A short text for a message: in the conversation list, in a reply's quote. */
function previewOf(m) {
  if (m.deleted_at !== null) return 'Message deleted';
  if (m.content) return m.content.length > 80 ? `${m.content.slice(0, 80)}…` : m.content;
  const n = m.attachments.length;
  return n > 1 ? `📎 ${n} attachments` : n === 1 ? `📎 ${m.attachments[0].name || 'Attachment'}` : '';
}

/** The URL when it is http(s), else null: nothing else is ever put in an href or src. */
function httpUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

// ---- conversation list --------------------------------------------------------------------------------------------

function renderList() {
  const list = $('conversations');
  const sorted = [...conversations.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  list.replaceChildren(
    ...sorted.map((c) => {
      const other = otherOf(c);
      const online = !isGroup(c) && (client?.isOnline(other) ?? false);
      const unread = client?.unreadCount(c.id) ?? c.unread_count;
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.conversationId = String(c.id);
      button.setAttribute('aria-current', String(c.id === active));
      const dot = document.createElement('span');
      dot.className = 'dot';
      dot.dataset.online = String(online);
      dot.dataset.group = String(isGroup(c));
      dot.setAttribute('aria-hidden', 'true');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = titleOf(c);
      const status = document.createElement('span');
      status.className = 'visually-hidden';
      status.textContent = isGroup(c) ? ' (group)' : online ? ' (online)' : ' (offline)';
      name.append(status);
      if (c.muted) {
        const tag = document.createElement('span');
        tag.className = 'tag';
        tag.textContent = 'muted';
        name.append(' ', tag);
      }
      const preview = document.createElement('span');
      preview.className = 'preview';
      preview.textContent = c.last_message ? previewOf(c.last_message) : 'No messages yet';
      button.append(dot, name, preview);
      if (unread > 0) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = String(unread);
        badge.setAttribute('aria-label', `${unread} unread`);
        button.append(badge);
      }
      button.addEventListener('click', () => openConversation(c.id));
      const li = document.createElement('li');
      li.append(button);
      return li;
    }),
  );
  $('no-conversations').hidden = conversations.size > 0;
}

function activity(c) {
  return c.last_message?.timestamp ?? c.created_at ?? '';
}

$('start-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = $('start-username').value.trim();
  $('start-error').textContent = '';
  if (!username) return;
  try {
    const user = await rest.findUser(username);
    users.set(user.id, user);
    const c = await rest.createConversation(user.id);
    conversations.set(c.id, { ...conversations.get(c.id), ...c });
    client?.trackConversations([c]);
    $('start-username').value = '';
    renderList();
    openConversation(c.id);
  } catch (err) {
    $('start-error').textContent =
      err instanceof ParleyApiError && err.status === 404
        ? `No user named “${username}”`
        : String(err.message);
  }
});

$('group-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const title = $('group-title').value.trim();
  const usernames = $('group-members')
    .value.split(/[\s,]+/)
    .filter(Boolean);
  $('group-error').textContent = '';
  if (!client || !title || usernames.length === 0) return;
  $('create-group').disabled = true;
  try {
    const c = await client.createGroup({ title, usernames }); // resolves the names, then creates it
    conversations.set(c.id, c);
    $('group-title').value = '';
    $('group-members').value = '';
    renderList();
    openConversation(c.id);
  } catch (err) {
    $('group-error').textContent = err.message;
  } finally {
    $('create-group').disabled = false;
  }
});

// ---- the open conversation ----------------------------------------------------------------------------------------

function openConversation(id) {
  active = id;
  composing = picking = confirmingDelete = null;
  renderComposer();
  history.replaceState(null, '', `#c${id}`);
  $('chat-placeholder').hidden = true;
  $('chat-removed').hidden = true;
  $('chat-inner').hidden = false;
  $('send-error').textContent = '';
  renderList();
  renderHeader();
  renderMembers();
  renderMessages(true);
  renderTyping();
  if (client && !client.conversations.includes(id)) {
    client.join(id).catch((err) => ($('send-error').textContent = err.message));
  }
  // A group's read receipts ("seen by") and roles come with its members.
  if (isGroup(conversations.get(id))) void loadMembers(id);
  markReadIfSeen();
  $('message-input').focus();
}

function closeConversation(removed = false) {
  active = null;
  composing = picking = confirmingDelete = null;
  renderComposer();
  history.replaceState(null, '', location.pathname);
  for (const id of ['messages', 'member-list']) $(id).replaceChildren();
  for (const id of ['chat-title', 'chat-presence', 'typing']) $(id).textContent = '';
  $('chat-inner').hidden = true;
  $('chat-placeholder').hidden = removed;
  $('chat-removed').hidden = !removed;
}

function renderHeader() {
  const c = conversations.get(active);
  if (!c) return;
  const group = isGroup(c);
  const other = otherOf(c);
  const online = !group && (client?.isOnline(other) ?? false);
  $('chat-title').textContent = titleOf(c);
  $('chat-dot').hidden = group;
  $('chat-dot').dataset.online = String(online);
  $('chat-presence').textContent = group
    ? `${c.member_count} members`
    : blocked.has(other)
      ? 'blocked'
      : online
        ? 'online'
        : 'offline';
  $('members-toggle').hidden = !group;
  $('members-toggle').setAttribute('aria-expanded', String(group && showMembers));
  $('block').hidden = group;
  $('block').textContent = blocked.has(other) ? 'Unblock' : 'Block';
  $('mute').textContent = c.muted ? 'Unmute' : 'Mute';
}

async function loadMembers(id) {
  try {
    const list = await client.members(id); // every page; seeds client.seenBy
    for (const m of list) users.set(m.user.id, m.user);
    memberLists.set(id, list);
    if (id === active) {
      renderMembers();
      renderMessages();
    }
  } catch (err) {
    if (id === active) $('members-error').textContent = err.message;
  }
}

function renderMembers() {
  const c = conversations.get(active);
  const panel = $('members-panel');
  panel.hidden = !(isGroup(c) && showMembers);
  if (panel.hidden) return;
  const list = memberLists.get(active) ?? [];
  const myRole = list.find((m) => m.user.id === me.id)?.role ?? c.my_role;
  // Owner and admins remove members; only the owner removes admins; nobody removes the owner.
  const canRemove = (m) =>
    m.user.id !== me.id &&
    m.role !== 'owner' &&
    (myRole === 'owner' || (myRole === 'admin' && m.role === 'member'));
  $('member-list').replaceChildren(
    ...list.map((m) => {
      const li = document.createElement('li');
      li.dataset.userId = String(m.user.id);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = m.user.id === me.id ? 'You' : m.user.display_name || m.user.username;
      const role = document.createElement('span');
      role.className = 'tag';
      role.textContent = m.role;
      li.append(name, ' ', role);
      if (canRemove(m)) {
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'link';
        remove.textContent = 'Remove';
        remove.setAttribute('aria-label', `Remove ${name.textContent}`);
        remove.addEventListener(
          'click',
          () => void changeMembers(() => rest.removeMember(active, m.user.id)),
        );
        li.append(' ', remove);
      }
      return li;
    }),
  );
  $('add-member-form').hidden = myRole === 'member';
}

/** A membership change over REST; the system message it records refreshes the list (see the message handler). */
async function changeMembers(change) {
  $('members-error').textContent = '';
  try {
    await change();
  } catch (err) {
    $('members-error').textContent = err.message;
  }
}

$('members-toggle').addEventListener('click', () => {
  showMembers = !showMembers;
  renderHeader();
  renderMembers();
  if (showMembers && active !== null) void loadMembers(active);
});

$('add-member-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const username = $('add-member-username').value.trim();
  if (!username || active === null) return;
  const id = active;
  void changeMembers(async () => {
    const user = await rest.findUser(username);
    await rest.addMembers(id, [user.id]);
    $('add-member-username').value = '';
  });
});

$('leave-group').addEventListener('click', () => {
  if (active !== null) void changeMembers(() => client.leaveGroup(active)); // conversationRemoved closes it
});

$('mute').addEventListener('click', async () => {
  const c = conversations.get(active);
  if (!c) return;
  try {
    if (c.muted) {
      await rest.unmute(c.id);
      conversations.set(c.id, { ...c, muted: false, muted_until: null });
    } else {
      conversations.set(c.id, { ...c, ...(await rest.mute(c.id)) });
    }
    renderHeader();
    renderList();
  } catch (err) {
    $('send-error').textContent = err.message;
  }
});

$('block').addEventListener('click', async () => {
  const c = conversations.get(active);
  if (!c || isGroup(c)) return;
  const other = otherOf(c);
  try {
    if (blocked.has(other)) {
      await rest.unblock(other);
      blocked.delete(other);
    } else {
      await rest.block(other);
      blocked.add(other);
    }
    renderHeader();
  } catch (err) {
    $('send-error').textContent = err.message;
  }
});

function renderTyping() {
  const names = (client?.typingUsers(active) ?? []).map(nameOf);
  $('typing').textContent = names.length
    ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…`
    : '';
}

function renderMessages(scrollToEnd = false) {
  const c = conversations.get(active);
  if (!c) return;
  const scroller = $('messages-scroll');
  const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  const list = messages.get(active) ?? [];
  // "Seen" (by whom, in a group) under your latest message that someone else has read
  const seenBy = (m) => client?.seenBy(active, m.seq) ?? [];
  const lastSeen = list.findLast(
    (m) => m.sender_id === me.id && m.message_type !== 'system' && seenBy(m).length > 0,
  );
  const items = list.map((m, i) => {
    if (m.message_type === 'system') return systemLine(m);
    const mine = m.sender_id === me.id;
    // who and when, once under each run of messages from the same sender
    const next = list[i + 1];
    const endsRun =
      !next ||
      next.sender_id !== m.sender_id ||
      next.message_type === 'system' ||
      Date.parse(next.timestamp) - Date.parse(m.timestamp) > 300_000;
    const time = new Date(m.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const edited = m.edited_at !== null && m.deleted_at === null ? 'edited' : '';
    const meta = endsRun
      ? [mine ? 'You' : nameOf(m.sender_id), time, edited].filter(Boolean).join(' · ')
      : edited || undefined;
    const seen = m === lastSeen ? seenText(c, seenBy(m)) : undefined;
    return messageItem(c, m, mine, meta, seen);
  });
  for (const p of client?.pending ?? []) {
    if (p.conversationId !== active) continue;
    const li = bubble(true, p.content || `📎 ${p.attachments?.length ?? 0} attachment(s)`, 'Sending…');
    li.classList.add('pending');
    items.push(li);
  }
  $('messages').replaceChildren(...items);
  $('load-older').hidden = !(hasOlder.get(active) && list.length > 0);
  if (scrollToEnd || atEnd) scroller.scrollTop = scroller.scrollHeight;
}

/** "Seen" in a direct conversation; in a group, who (or everyone). */
function seenText(c, ids) {
  if (!isGroup(c)) return 'Seen';
  if (ids.length >= c.member_count - 1) return 'Seen by everyone';
  const names = ids.map(nameOf);
  return `Seen by ${names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')}`;
}

/** A membership or group change: a line of its own, not a bubble. */
function systemLine(m) {
  const li = document.createElement('li');
  li.className = 'msg system';
  li.dataset.seq = String(m.seq);
  li.dataset.action = m.system?.action ?? '';
  li.textContent = m.content;
  return li;
}

/** A message: the quote it replies to, its text, attachments, reactions, and what you may do with it. */
function messageItem(c, m, mine, meta, seen) {
  const deleted = m.deleted_at !== null;
  const li = document.createElement('li');
  li.className = `msg${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}`;
  li.dataset.seq = String(m.seq);
  li.dataset.messageId = String(m.id);
  if (m.reply_to_id !== null && !deleted) li.append(quoteOf(m.reply_to_id));
  if (deleted || m.content || m.attachments.length === 0) {
    const text = document.createElement('div');
    text.className = deleted ? 'bubble tombstone' : 'bubble';
    text.textContent = deleted ? 'This message was deleted' : m.content; // never innerHTML
    li.append(text);
  }
  if (!deleted) {
    if (m.attachments.length > 0) li.append(attachmentsOf(m.attachments));
    if (m.reactions.length > 0) li.append(reactionsOf(m));
    li.append(actionsOf(c, m, mine));
    if (picking === m.id) li.append(pickerOf(m));
  }
  for (const [text, className] of [
    [meta, 'meta'],
    [seen, 'meta seen'],
  ]) {
    if (!text) continue;
    const line = document.createElement('div');
    line.className = className;
    line.textContent = text;
    li.append(line);
  }
  return li;
}

/** The message a reply quotes (a click shows it, when it is loaded). */
function quoteOf(id) {
  const original = (messages.get(active) ?? []).find((x) => x.id === id);
  const quote = document.createElement('button');
  quote.type = 'button';
  quote.className = 'quote';
  quote.dataset.replyTo = String(id);
  quote.textContent = original
    ? `${original.sender_id === me.id ? 'You' : nameOf(original.sender_id)}: ${previewOf(original)}`
    : 'An earlier message';
  quote.setAttribute('aria-label', `In reply to ${quote.textContent}`);
  quote.addEventListener('click', () => {
    const li = $('messages').querySelector(`li[data-message-id="${Number(id)}"]`);
    if (!li) return;
    li.scrollIntoView({ block: 'center', behavior: 'smooth' });
    li.classList.add('flash');
    setTimeout(() => li.classList.remove('flash'), 1500);
  });
  return quote;
}

/** Images (http(s) only) as previews linking to the file; anything else as a link. */
function attachmentsOf(list) {
  const box = document.createElement('div');
  box.className = 'attachments';
  for (const a of list) {
    const url = httpUrl(a.url);
    if (!url) continue; // the server takes http(s) URLs only; anything else is not shown
    const link = document.createElement('a');
    link.setAttribute('href', url);
    link.setAttribute('target', '_blank');
    link.setAttribute('rel', 'noopener noreferrer');
    if (a.type === 'image') {
      link.className = 'attachment image';
      const img = document.createElement('img');
      img.setAttribute('src', url);
      img.setAttribute('alt', a.name || 'Image');
      img.setAttribute('loading', 'lazy');
      img.setAttribute('referrerpolicy', 'no-referrer');
      if (a.width > 0 && a.height > 0) {
        img.setAttribute('width', String(a.width));
        img.setAttribute('height', String(a.height));
      }
      link.append(img);
    } else {
      link.className = 'attachment file';
      const size = a.size > 0 ? ` (${formatSize(a.size)})` : '';
      link.textContent = `${ATTACHMENT_ICONS[a.type] ?? '📎'} ${a.name || fileName(url)}${size}`;
    }
    box.append(link);
  }
  return box;
}

function fileName(url) {
  const last = new URL(url).pathname.split('/').filter(Boolean).pop();
  try {
    return last ? decodeURIComponent(last) : new URL(url).hostname;
  } catch {
    return last;
  }
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Each emoji with its count; yours pressed. A click adds yours, or takes it back. */
function reactionsOf(m) {
  const mine = new Set(client?.myReactions(m.conversation_id, m.id) ?? []);
  const box = document.createElement('div');
  box.className = 'reactions';
  for (const r of m.reactions) {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'reaction';
    chip.dataset.emoji = r.emoji;
    chip.setAttribute('aria-pressed', String(mine.has(r.emoji)));
    chip.title = mine.has(r.emoji) ? 'You reacted: click to take it back' : 'React with this too';
    chip.textContent = `${r.emoji} ${r.count}`;
    chip.addEventListener('click', () => toggleReaction(m, r.emoji));
    box.append(chip);
  }
  return box;
}

function pickerOf(m) {
  const mine = new Set(client?.myReactions(m.conversation_id, m.id) ?? []);
  const box = document.createElement('div');
  box.className = 'picker';
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Pick a reaction');
  for (const emoji of QUICK_REACTIONS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = emoji;
    b.setAttribute('aria-pressed', String(mine.has(emoji)));
    b.addEventListener('click', () => toggleReaction(m, emoji));
    box.append(b);
  }
  return box;
}

/** React, Reply; Edit your own text messages; Delete yours, or anyone's in a group you own or administer. */
function actionsOf(c, m, mine) {
  const box = document.createElement('div');
  box.className = 'actions';
  const action = (label, onClick) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = label;
    b.addEventListener('click', onClick);
    box.append(b);
    return b;
  };
  const react = action('React', () => {
    picking = picking === m.id ? null : m.id;
    renderMessages();
  });
  react.setAttribute('aria-expanded', String(picking === m.id));
  action('Reply', () => startComposing('reply', m));
  if (mine && m.message_type === 'text') action('Edit', () => startComposing('edit', m));
  const role = memberLists.get(c.id)?.find((x) => x.user.id === me.id)?.role ?? c.my_role;
  if (mine || (isGroup(c) && (role === 'owner' || role === 'admin'))) {
    const confirming = confirmingDelete === m.id;
    const del = action(confirming ? 'Confirm delete' : 'Delete', () =>
      confirming ? deleteMessage(m) : askToDelete(m),
    );
    if (confirming) del.classList.add('danger');
  }
  return box;
}

function toggleReaction(m, emoji) {
  if (!client) return;
  picking = null;
  const mine = client.myReactions(m.conversation_id, m.id).includes(emoji);
  const change = mine
    ? client.unreact(m.conversation_id, m.id, emoji)
    : client.react(m.conversation_id, m.id, emoji);
  change.catch((err) => ($('send-error').textContent = err.message)); // the update re-renders
  renderMessages();
}

function askToDelete(m) {
  confirmingDelete = m.id;
  renderMessages();
  setTimeout(() => {
    if (confirmingDelete !== m.id) return;
    confirmingDelete = null;
    renderMessages();
  }, 4000);
}

function deleteMessage(m) {
  confirmingDelete = null;
  client?.deleteMessage(m.conversation_id, m.id).catch((err) => ($('send-error').textContent = err.message));
  renderMessages();
}

function bubble(mine, content, meta, seen, data = {}) {
  const li = document.createElement('li');
  li.className = mine ? 'msg mine' : 'msg';
  Object.assign(li.dataset, data);
  const text = document.createElement('div');
  text.className = 'bubble';
  text.textContent = content; // never innerHTML: content is whatever the sender typed
  li.append(text);
  if (meta) {
    const info = document.createElement('div');
    info.className = 'meta';
    info.textContent = meta;
    li.append(info);
  }
  if (seen) {
    const mark = document.createElement('div');
    mark.className = 'meta seen';
    mark.textContent = seen;
    li.append(mark);
  }
  return li;
}

$('load-older').addEventListener('click', async () => {
  const id = active;
  const first = messages.get(id)?.[0];
  if (!first) return;
  const button = $('load-older');
  button.disabled = true;
  try {
    // Through the client: its store learns your reactions to them, and their later changes find them.
    const page = await client.history(id, { before_seq: first.seq, limit: 20 });
    const scroller = $('messages-scroll');
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    addMessages(id, page.messages);
    hasOlder.set(id, page.has_more);
    if (id === active) {
      renderMessages();
      scroller.scrollTop = scroller.scrollHeight - fromBottom; // keep the reader where they were
    }
  } catch (err) {
    $('send-error').textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

function markReadIfSeen() {
  if (!client || active === null || document.visibilityState !== 'visible') return;
  if ((client.unreadCount(active) ?? 0) > 0) client.markRead(active).catch(() => undefined);
}

$('message-input').addEventListener('input', (event) => {
  if (active === null || !client || composing?.mode === 'edit') return;
  if (event.target.value) client.typing(active);
  else client.stopTyping(active);
});

$('message-input').addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && composing) stopComposing();
});

// ---- the composer: a new message (maybe a reply, maybe with attachments), or an edit ----------------------------

function startComposing(mode, m) {
  composing = { mode, conversationId: m.conversation_id, messageId: m.id };
  picking = null;
  if (mode === 'edit') $('message-input').value = m.content;
  renderComposer();
  renderMessages();
  $('message-input').focus();
}

/** Back to a plain new message (an edit's text goes with it). */
function stopComposing() {
  if (composing?.mode === 'edit') $('message-input').value = '';
  composing = null;
  renderComposer();
}

function renderComposer() {
  const here = composing !== null && composing.conversationId === active;
  $('composer-context').hidden = !here;
  $('send').textContent = here && composing.mode === 'edit' ? 'Save' : 'Send';
  $('attach-toggle').disabled = here && composing.mode === 'edit';
  if (!here) return;
  const target = (messages.get(active) ?? []).find((x) => x.id === composing.messageId);
  const who = target ? (target.sender_id === me.id ? 'yourself' : nameOf(target.sender_id)) : '';
  $('composer-context-text').textContent =
    composing.mode === 'edit'
      ? 'Editing your message'
      : `Replying to ${who}${target ? `: ${previewOf(target)}` : ''}`;
}

$('composer-cancel').addEventListener('click', () => {
  stopComposing();
  $('message-input').focus();
});

$('attach-toggle').addEventListener('click', () => {
  const row = $('attach-row');
  row.hidden = !row.hidden;
  $('attach-toggle').setAttribute('aria-expanded', String(!row.hidden));
  if (!row.hidden) $('attach-url').focus();
});

/** The attachments typed into the URL field: http(s) URLs, an image when the name says so. */
function attachmentsFrom(text) {
  const urls = text.split(/\s+/).filter(Boolean);
  if (urls.length > 10) throw new Error('At most 10 attachments');
  return urls.map((raw) => {
    const url = httpUrl(raw);
    if (!url) throw new Error(`Not an http(s) URL: ${raw}`);
    const path = new URL(url).pathname.toLowerCase();
    const type = /\.(png|jpe?g|gif|webp|avif|svg)$/.test(path)
      ? 'image'
      : /\.(mp4|webm|mov|m4v)$/.test(path)
        ? 'video'
        : /\.(mp3|ogg|oga|wav|m4a|flac)$/.test(path)
          ? 'audio'
          : 'file';
    const name = fileName(url);
    return { type, url, ...(name ? { name: name.slice(0, 255) } : {}) };
  });
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('message-input');
  const content = input.value;
  if (!client || active === null) return;
  $('send-error').textContent = '';
  if (composing?.mode === 'edit' && composing.conversationId === active) {
    const { conversationId, messageId } = composing;
    if (!content.trim()) return;
    stopComposing();
    client
      .editMessage(conversationId, messageId, content)
      .catch((err) => ($('send-error').textContent = `Not saved: ${err.message}`));
    return;
  }
  let attachments;
  try {
    attachments = attachmentsFrom($('attach-url').value);
  } catch (err) {
    $('send-error').textContent = err.message;
    return;
  }
  if (!content.trim() && attachments.length === 0) return;
  const replyTo =
    composing?.mode === 'reply' && composing.conversationId === active ? composing.messageId : null;
  input.value = '';
  $('attach-url').value = '';
  $('attach-row').hidden = true;
  $('attach-toggle').setAttribute('aria-expanded', 'false');
  stopComposing();
  const sending = client.send(active, content.trim() ? content : '', {
    ...(replyTo !== null ? { replyTo } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
  });
  renderMessages(true); // shows it as "Sending…" until the server has it
  sending
    .catch((err) => {
      $('send-error').textContent = `Not sent: ${err.message}`;
      input.value ||= content;
    })
    .finally(() => renderMessages());
});

// ---- boot ---------------------------------------------------------------------------------------------------------

if (auth.loggedIn) {
  start().catch((err) => {
    console.warn('parley: session could not be resumed', err);
    stop();
  });
} else {
  showAuth();
}
