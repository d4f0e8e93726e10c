/* global document, window, sessionStorage, location, history, console, FormData */
// Parley demo: a small chat front end on the browser SDK (@parley/client), no framework and no bundler.
// Every message content is rendered with textContent (never as HTML).
import { ParleyApiError, ParleyAuth, ParleyClient, ParleyRest } from '@parley/client';

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

function addMessages(conversationId, list) {
  const current = messages.get(conversationId) ?? [];
  const seen = new Set(current.map((m) => m.id));
  const merged = [...current, ...list.filter((m) => !seen.has(m.id))].sort((a, b) => a.seq - b.seq);
  messages.set(conversationId, merged);
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
      preview.textContent = c.last_message ? c.last_message.content : 'No messages yet';
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
    const meta = endsRun ? `${mine ? 'You' : nameOf(m.sender_id)} · ${time}` : undefined;
    const seen = m === lastSeen ? seenText(c, seenBy(m)) : undefined;
    return bubble(mine, m.content, meta, seen, { seq: String(m.seq) });
  });
  for (const p of client?.pending ?? []) {
    if (p.conversationId !== active) continue;
    const li = bubble(true, p.content, 'Sending…');
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
    const page = await rest.messages(id, { before_seq: first.seq, limit: 20 });
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
  if (active === null || !client) return;
  if (event.target.value) client.typing(active);
  else client.stopTyping(active);
});

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('message-input');
  const content = input.value;
  if (!client || active === null || !content.trim()) return;
  input.value = '';
  $('send-error').textContent = '';
  const sending = client.send(active, content);
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
