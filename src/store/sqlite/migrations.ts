import type Database from 'better-sqlite3';

/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records the
 * last one applied. Never edit a released migration: append a new one.
 *
 * Cursor (seq) invariants: every per-user row (inbox) and shared-audience event (events) carries a
 * seq allocated by the single writer in commit order; users, memberships and subscriptions record the
 * seq at which they started so replay never shows what happened before them.
 */
const MIGRATIONS: string[] = [
  // 1: users, tokens, groups, channels, messages, per-user state, sync log
  `
  CREATE TABLE users(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    portrait TEXT NOT NULL DEFAULT '',
    gender INTEGER NOT NULL DEFAULT 0,
    mobile TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    social TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '',
    type INTEGER NOT NULL DEFAULT 0,
    role TEXT NOT NULL DEFAULT 'user',
    status INTEGER NOT NULL DEFAULT 0,
    created_seq INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX users_name ON users(name);
  CREATE INDEX users_mobile ON users(mobile) WHERE mobile <> '';
  CREATE INDEX users_email ON users(email) WHERE email <> '';
  CREATE INDEX users_status ON users(status) WHERE status <> 0;

  CREATE TABLE tokens(
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    platform INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX tokens_user ON tokens(user_id, client_id);

  CREATE TABLE groups(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    portrait TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    type INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '',
    mute INTEGER NOT NULL DEFAULT 0,
    join_type INTEGER NOT NULL DEFAULT 0,
    private_chat INTEGER NOT NULL DEFAULT 0,
    searchable INTEGER NOT NULL DEFAULT 0,
    history_message INTEGER NOT NULL DEFAULT 0,
    max_member_count INTEGER NOT NULL DEFAULT 0,
    member_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE group_members(
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    alias TEXT NOT NULL DEFAULT '',
    type INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '',
    joined_seq INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY(group_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX group_members_user ON group_members(user_id, group_id);

  CREATE TABLE channels(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    portrait TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',
    callback TEXT NOT NULL DEFAULT '',
    automatic INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL DEFAULT 0,
    subscriber_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE channel_subscribers(
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    subscribed_seq INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY(channel_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX channel_subscribers_user ON channel_subscribers(user_id, channel_id);

  -- status: 0 normal, 1 recalled, 2 deleted (tombstone: payload emptied). kind: 0 conversation, 1 multicast, 2 broadcast.
  -- recipients: JSON list of the users holding per-user rows, when not derivable (NULL: single chat or shared audience).
  CREATE TABLE messages(
    uid INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    conv_type INTEGER NOT NULL,
    conv_target TEXT NOT NULL,
    conv_line INTEGER NOT NULL,
    payload TEXT NOT NULL,
    to_users TEXT,
    kind INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    updated_at INTEGER NOT NULL DEFAULT 0,
    expire_at INTEGER NOT NULL DEFAULT 0,
    client_id TEXT NOT NULL DEFAULT '',
    platform INTEGER NOT NULL DEFAULT 0,
    client_msg_id TEXT,
    recipients TEXT
  );
  CREATE UNIQUE INDEX messages_client_msg ON messages(sender, client_msg_id) WHERE client_msg_id IS NOT NULL;

  -- Per-user event rows (listed audiences). type: 1 message, 2 recall, 3 update, 4 delete, 5 clear, 6 conv_delete, 7 read.
  CREATE TABLE inbox(
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    data TEXT,
    PRIMARY KEY(user_id, seq)
  ) WITHOUT ROWID;

  -- Shared-audience events. audience_type: 1 group members, 2 channel subscribers, 3 every user.
  CREATE TABLE events(
    seq INTEGER PRIMARY KEY,
    type INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    audience_type INTEGER NOT NULL,
    audience_id TEXT NOT NULL
  );
  CREATE INDEX events_audience ON events(audience_type, audience_id, seq);

  -- Per-receiver changes of a message (recall/delete for some receivers). state: 1 recalled (payload = what they see), 2 deleted.
  CREATE TABLE user_message_state(
    user_id TEXT NOT NULL,
    uid INTEGER NOT NULL,
    state INTEGER NOT NULL,
    payload TEXT,
    PRIMARY KEY(user_id, uid)
  ) WITHOUT ROWID;

  -- Time ranges of a conversation hidden for one user (clear_by_user, conversation delete).
  CREATE TABLE user_hides(
    user_id TEXT NOT NULL,
    conv_type INTEGER NOT NULL,
    conv_target TEXT NOT NULL,
    conv_line INTEGER NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL
  );
  CREATE INDEX user_hides_key ON user_hides(user_id, conv_type, conv_target, conv_line);

  -- The user's view of a conversation: unread counter, last message, read mark.
  CREATE TABLE conversations(
    user_id TEXT NOT NULL,
    conv_type INTEGER NOT NULL,
    conv_target TEXT NOT NULL,
    conv_line INTEGER NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0,
    last_uid INTEGER NOT NULL DEFAULT 0,
    last_ts INTEGER NOT NULL DEFAULT 0,
    read_ts INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY(user_id, conv_type, conv_target, conv_line)
  ) WITHOUT ROWID;

  -- Store bookkeeping, e.g. derived_uid: the write-behind recovery watermark.
  CREATE TABLE meta(
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE deliveries(
    user_id TEXT PRIMARY KEY,
    ts INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: the outbox (callbacks today; any external side effect later). status: 0 pending, 1 in flight
  //    (next_at = lease end), 2 delivered, 3 dead. Jobs of one order_key are delivered in id order.
  `
  CREATE TABLE outbox(
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    order_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    last_response TEXT NOT NULL DEFAULT '',
    delivered_at INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX outbox_active ON outbox(order_key, id) WHERE status IN (0, 1);
  CREATE INDEX outbox_due ON outbox(id, next_at) WHERE status IN (0, 1);
  CREATE INDEX outbox_status ON outbox(status, id);

  -- Runtime settings managed through the admin API, as JSON documents by key (e.g. "callback-target/<id>").
  CREATE TABLE settings(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: outbox heads. One row per order key that has active jobs (pending or in flight): the oldest
  //    active job of the key and when it is next due (its retry time, or its lease end while in
  //    flight). Claims read due heads per (channel, target) through an index, so their cost does not
  //    grow with the backlog queued behind the heads. Dead jobs through a partial index; a counter of
  //    deliveries (delivered rows are pruned after their retention).
  `
  CREATE TABLE outbox_heads(
    order_key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    next_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX outbox_heads_due ON outbox_heads(channel, target, next_at);
  INSERT INTO outbox_heads(order_key, channel, target, job_id, next_at)
    SELECT o.order_key, o.channel, o.target, o.id, o.next_at FROM outbox o
    WHERE o.status IN (0, 1)
      AND o.id = (SELECT MIN(p.id) FROM outbox p WHERE p.order_key = o.order_key AND p.status IN (0, 1));
  DROP INDEX outbox_due;
  DROP INDEX outbox_status;
  CREATE INDEX outbox_dead ON outbox(id) WHERE status = 3;
  INSERT INTO meta(key, value) SELECT 'outbox_delivered', COUNT(*) FROM outbox WHERE status = 2;
  `,
  // 4 (SQLite store: replay and membership history):
  //  - audience_history: the past memberships of shared audiences (audience_type as in events: 1 group,
  //    2 channel). A former member is shown the shared events of messages with
  //    joined_seq < message seq <= left_seq (and later changes of those messages), as the per-user
  //    rows of a small group keep them. Recorded only when the audience has events after joined_seq.
  //  - events_audience covers (type, uid), so a replay page is one index range per audience.
  //  - meta.user_count: the number of rows in users, maintained by user create/destroy (a broadcast
  //    counts its receivers without scanning users).
  `
  CREATE TABLE audience_history(
    user_id TEXT NOT NULL,
    audience_type INTEGER NOT NULL,
    audience_id TEXT NOT NULL,
    joined_seq INTEGER NOT NULL,
    left_seq INTEGER NOT NULL,
    PRIMARY KEY(user_id, audience_type, audience_id, joined_seq)
  ) WITHOUT ROWID;
  -- Live fan-out reads an audience's past memberships as one index range.
  CREATE INDEX audience_history_audience ON audience_history(audience_type, audience_id, left_seq);
  DROP INDEX events_audience;
  CREATE INDEX events_audience ON events(audience_type, audience_id, seq, type, uid);
  INSERT OR REPLACE INTO meta(key, value) SELECT 'user_count', COUNT(*) FROM users;
  `,
  // 5 (unread counters, see unread.ts): meta.unread_mark_max, the latest read mark or hide end ever
  //    written, maintained with each of them from now on. A new message stamped after it is reached by
  //    no mark and no hide, so sends count it without reading the receiver's view.
  `
  INSERT OR REPLACE INTO meta(key, value)
    SELECT 'unread_mark_max', MAX(COALESCE((SELECT MAX(read_ts) FROM conversations), 0), COALESCE((SELECT MAX(end_ts) FROM user_hides), 0));
  `,
  // 6 (outbox for many channels): a job's correlation reference ("msg:123"), NULL for jobs without
  //    one; outbox_ref lists the jobs of one reference through a partial index, so jobs without a
  //    reference (every callback today) cost it nothing. Delayed jobs (notBefore) need no column:
  //    a new job's next_at is its notBefore.
  `
  ALTER TABLE outbox ADD COLUMN ref TEXT;
  CREATE INDEX outbox_ref ON outbox(ref, id) WHERE ref IS NOT NULL;
  `,
  // 7 (Tencent callback fields): groups.msg_seq, the group's message counter — the MsgSeq of its
  //    callbacks, 1 for the first message sent in the group, raised by the send that takes the next
  //    one, in its transaction; groups_owner counts a user's groups of a type (CreateGroupNum) through
  //    an index range.
  `
  ALTER TABLE groups ADD COLUMN msg_seq INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX groups_owner ON groups(owner, type);
  `,
  // 8 (chatrooms): the durable part of a chatroom — its record (state 2: ended; a destroyed room stays
  //    so that chatroom/info still answers), its managers and its blacklist (state 1 may not send, 2
  //    may neither join nor send, until expired_at; 0: no end). Who is in a room is not stored.
  `
  CREATE TABLE chatrooms(
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    "desc" TEXT NOT NULL DEFAULT '',
    portrait TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '',
    state INTEGER NOT NULL DEFAULT 0,
    mute INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE chatroom_managers(
    chatroom_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY(chatroom_id, user_id)
  ) WITHOUT ROWID;
  CREATE TABLE chatroom_blacklist(
    chatroom_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    state INTEGER NOT NULL,
    expired_at INTEGER NOT NULL,
    PRIMARY KEY(chatroom_id, user_id)
  ) WITHOUT ROWID;
  `,
  // Robots (users of type 1 with a callback) and devices (users of type 2 with owners).
  `
  CREATE TABLE robots(
    user_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',
    callback TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '',
    state INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE devices(
    device_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '',
    state INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE device_owners(
    device_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY(device_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX device_owners_user ON device_owners(user_id, device_id);
  `,
  // Relations (Wildfire's friends, blacklists, friend requests, sensitive words, user settings):
  //    friends, one row per ordered pair (state 0 friends / 1 not, blacked 1: on user_id's
  //    blacklist; friends_friend finds the rows naming a user on the other side, for destroy);
  //    friend_requests, the last request per ordered pair (friend_requests_to / _from: a user's
  //    received / sent ones, newest first); sensitive_words, lower-cased; user_settings by (user, scope, key).
  `
  CREATE TABLE friends(
    user_id TEXT NOT NULL,
    friend_uid TEXT NOT NULL,
    alias TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '',
    state INTEGER NOT NULL DEFAULT 1,
    blacked INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY(user_id, friend_uid)
  ) WITHOUT ROWID;
  CREATE INDEX friends_friend ON friends(friend_uid);
  CREATE TABLE friend_requests(
    from_uid TEXT NOT NULL,
    to_uid TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY(from_uid, to_uid)
  ) WITHOUT ROWID;
  CREATE INDEX friend_requests_to ON friend_requests(to_uid, updated_at);
  CREATE INDEX friend_requests_from ON friend_requests(from_uid, updated_at);
  CREATE TABLE sensitive_words(word TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE user_settings(
    user_id TEXT NOT NULL,
    scope INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY(user_id, scope, key)
  ) WITHOUT ROWID;
  `,
  // notifications (seed 004): a notification (n: internal key in creation order; id: its 24-hex
  //    object id; send_seq: the order it was sent in, which orders every inbox; fanout_cursor: the
  //    last recipient its fan-out handled, fanout_done once all were), its recipients (the send_to
  //    set), every user's inbox (state bit 1 read, bit 2 deleted by the user; a row exists only for
  //    a sent notification; notification_inbox_read lists a notification's read rows, written when a
  //    row is read, never by the fan-out) and each recipient's delivery status per channel.
  `
  CREATE TABLE notifications(
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    creator TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    message_type TEXT NOT NULL,
    send_method TEXT NOT NULL,
    use_web_when_miss INTEGER NOT NULL,
    lng TEXT NOT NULL,
    translations TEXT NOT NULL,
    options TEXT NOT NULL,
    recipient_count INTEGER NOT NULL,
    read_count INTEGER NOT NULL DEFAULT 0,
    has_send INTEGER NOT NULL DEFAULT 0,
    send_at INTEGER,
    send_seq INTEGER UNIQUE,
    fanout_cursor TEXT NOT NULL DEFAULT '',
    fanout_done INTEGER NOT NULL DEFAULT 0,
    date_created INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX notifications_fanout ON notifications(n) WHERE has_send = 1 AND fanout_done = 0;
  CREATE TABLE notification_recipients(
    n INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY(n, user_id)
  ) WITHOUT ROWID;
  CREATE TABLE notification_inbox(
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(user_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX notification_inbox_read ON notification_inbox(seq, user_id) WHERE (state & 1) = 1;
  CREATE TABLE notification_deliveries(
    n INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY(n, user_id, channel)
  ) WITHOUT ROWID;
  `,
  // channel gateway (issue 10, docs/channel-gateway.md): configuration records (channels, apps,
  //    versions, version-channels, channel accounts) as JSON by kind and id, `parent` naming the app or
  //    version they hang on; contacts (one IM user each), conversations (one IM group each) and the
  //    external metadata of each message of those groups, with its outbound delivery status
  //    (original_id NULL when the app gave none: unique per account otherwise).
  `
  CREATE TABLE channel_config(
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY(kind, id)
  ) WITHOUT ROWID;
  CREATE INDEX channel_config_kind ON channel_config(kind, created_at, id);
  CREATE INDEX channel_config_parent ON channel_config(parent, kind, created_at, id);
  CREATE TABLE channel_contacts(
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    account TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX channel_contacts_account ON channel_contacts(account_id, account);
  CREATE INDEX channel_contacts_list ON channel_contacts(account_id, id);
  CREATE TABLE channel_conversations(
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    original_id TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX channel_conversations_original ON channel_conversations(account_id, original_id, updated_at);
  CREATE INDEX channel_conversations_contact ON channel_conversations(contact_id, updated_at);
  CREATE TABLE channel_messages(
    uid INTEGER PRIMARY KEY,
    guid TEXT NOT NULL,
    account_id TEXT NOT NULL,
    original_id TEXT,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX channel_messages_guid ON channel_messages(guid);
  CREATE UNIQUE INDEX channel_messages_original ON channel_messages(account_id, original_id);
  `,
  // (channel gateway, outbound) customer-service sessions: at most one session not closed per
  //    (channel account, contact), enforced by a partial unique index; idle deadlines read by the
  //    sweeper through a partial index.
  `
  CREATE TABLE service_sessions(
    id INTEGER PRIMARY KEY,
    service_id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    contact TEXT NOT NULL,
    state TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    opened_at INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    idle_at INTEGER NOT NULL,
    closed_at INTEGER NOT NULL DEFAULT 0,
    close_reason TEXT NOT NULL DEFAULT ''
  );
  CREATE UNIQUE INDEX service_sessions_current ON service_sessions(account, contact) WHERE state <> 'closed';
  CREATE INDEX service_sessions_idle ON service_sessions(idle_at) WHERE state <> 'closed';
  CREATE INDEX service_sessions_queued ON service_sessions(account, id) WHERE state = 'queued';
  CREATE INDEX service_sessions_agent ON service_sessions(agent) WHERE state = 'assigned';
  `,
  // (channel gateway, inbound cost) messages without an original id (every 002 message) are left out
  //    of the (account, original id) index, which only ever looks up a given id: one index insert less
  //    per such message.
  `
  DROP INDEX channel_messages_original;
  CREATE UNIQUE INDEX channel_messages_original ON channel_messages(account_id, original_id) WHERE original_id IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Apply the migrations after the database's version, up to `target` (tests build older schemas with it). */
export function migrate(db: Database.Database, target: number = MIGRATIONS.length): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this build (${MIGRATIONS.length})`);
  }
  for (let v = current; v < Math.min(target, MIGRATIONS.length); v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
