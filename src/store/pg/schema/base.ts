/**
 * The PostgreSQL schema as it stood when the backend was introduced: the SQLite schema of the same
 * release (src/store/sqlite/migrations.ts, all migrations applied) in PostgreSQL's dialect. Integers
 * are BIGINT (uids, seqs and millisecond timestamps exceed 32 bits; pool.ts reads them as numbers),
 * auto-numbered ids are identities, JSON documents stay TEXT exactly as SQLite holds them.
 *
 * Never edit a released migration: append a new one to migrations.ts.
 */
export const BASE_SCHEMA = `
  CREATE TABLE users(
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      display_name TEXT NOT NULL DEFAULT '',
      portrait TEXT NOT NULL DEFAULT '',
      gender BIGINT NOT NULL DEFAULT 0,
      mobile TEXT NOT NULL DEFAULT '',
      email TEXT NOT NULL DEFAULT '',
      address TEXT NOT NULL DEFAULT '',
      company TEXT NOT NULL DEFAULT '',
      social TEXT NOT NULL DEFAULT '',
      extra TEXT NOT NULL DEFAULT '',
      type BIGINT NOT NULL DEFAULT 0,
      role TEXT NOT NULL DEFAULT 'user',
      status BIGINT NOT NULL DEFAULT 0,
      created_seq BIGINT NOT NULL DEFAULT 0,
      updated_at BIGINT NOT NULL
    );
  CREATE UNIQUE INDEX users_name ON users(name);
  CREATE INDEX users_mobile ON users(mobile) WHERE mobile <> '';
  CREATE INDEX users_email ON users(email) WHERE email <> '';
  CREATE INDEX users_status ON users(status) WHERE status <> 0;
  CREATE TABLE tokens(
      hash TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      client_id TEXT NOT NULL,
      platform BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    );
  CREATE INDEX tokens_user ON tokens(user_id, client_id);
  CREATE TABLE groups(
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL DEFAULT '',
      portrait TEXT NOT NULL DEFAULT '',
      owner TEXT NOT NULL,
      type BIGINT NOT NULL DEFAULT 0,
      extra TEXT NOT NULL DEFAULT '',
      mute BIGINT NOT NULL DEFAULT 0,
      join_type BIGINT NOT NULL DEFAULT 0,
      private_chat BIGINT NOT NULL DEFAULT 0,
      searchable BIGINT NOT NULL DEFAULT 0,
      history_message BIGINT NOT NULL DEFAULT 0,
      max_member_count BIGINT NOT NULL DEFAULT 0,
      member_count BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
      , msg_seq BIGINT NOT NULL DEFAULT 0);
  CREATE TABLE group_members(
      group_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      alias TEXT NOT NULL DEFAULT '',
      type BIGINT NOT NULL DEFAULT 0,
      extra TEXT NOT NULL DEFAULT '',
      joined_seq BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      PRIMARY KEY(group_id, user_id)
    );
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
      automatic BIGINT NOT NULL DEFAULT 0,
      state BIGINT NOT NULL DEFAULT 0,
      subscriber_count BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );
  CREATE TABLE channel_subscribers(
      channel_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      subscribed_seq BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      PRIMARY KEY(channel_id, user_id)
    );
  CREATE INDEX channel_subscribers_user ON channel_subscribers(user_id, channel_id);
  CREATE TABLE messages(
      uid BIGINT PRIMARY KEY,
      seq BIGINT NOT NULL,
      sender TEXT NOT NULL,
      conv_type BIGINT NOT NULL,
      conv_target TEXT NOT NULL,
      conv_line BIGINT NOT NULL,
      payload TEXT NOT NULL,
      to_users TEXT,
      kind BIGINT NOT NULL,
      status BIGINT NOT NULL DEFAULT 0,
      timestamp BIGINT NOT NULL,
      updated_at BIGINT NOT NULL DEFAULT 0,
      expire_at BIGINT NOT NULL DEFAULT 0,
      client_id TEXT NOT NULL DEFAULT '',
      platform BIGINT NOT NULL DEFAULT 0,
      client_msg_id TEXT,
      recipients TEXT
    );
  CREATE UNIQUE INDEX messages_client_msg ON messages(sender, client_msg_id) WHERE client_msg_id IS NOT NULL;
  CREATE TABLE inbox(
      user_id TEXT NOT NULL,
      seq BIGINT NOT NULL,
      type BIGINT NOT NULL,
      uid BIGINT NOT NULL,
      data TEXT,
      PRIMARY KEY(user_id, seq)
    );
  CREATE TABLE events(
      seq BIGINT PRIMARY KEY,
      type BIGINT NOT NULL,
      uid BIGINT NOT NULL,
      audience_type BIGINT NOT NULL,
      audience_id TEXT NOT NULL
    );
  CREATE TABLE user_message_state(
      user_id TEXT NOT NULL,
      uid BIGINT NOT NULL,
      state BIGINT NOT NULL,
      payload TEXT,
      PRIMARY KEY(user_id, uid)
    );
  CREATE TABLE user_hides(
      user_id TEXT NOT NULL,
      conv_type BIGINT NOT NULL,
      conv_target TEXT NOT NULL,
      conv_line BIGINT NOT NULL,
      start_ts BIGINT NOT NULL,
      end_ts BIGINT NOT NULL
    );
  CREATE INDEX user_hides_key ON user_hides(user_id, conv_type, conv_target, conv_line);
  CREATE TABLE conversations(
      user_id TEXT NOT NULL,
      conv_type BIGINT NOT NULL,
      conv_target TEXT NOT NULL,
      conv_line BIGINT NOT NULL,
      unread BIGINT NOT NULL DEFAULT 0,
      last_uid BIGINT NOT NULL DEFAULT 0,
      last_ts BIGINT NOT NULL DEFAULT 0,
      read_ts BIGINT NOT NULL DEFAULT 0,
      visible BIGINT NOT NULL DEFAULT 1,
      PRIMARY KEY(user_id, conv_type, conv_target, conv_line)
    );
  CREATE TABLE meta(
      key TEXT PRIMARY KEY,
      value BIGINT NOT NULL
    );
  CREATE TABLE deliveries(
      user_id TEXT PRIMARY KEY,
      ts BIGINT NOT NULL
    );
  CREATE TABLE outbox(
      id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      channel TEXT NOT NULL,
      target TEXT NOT NULL,
      order_key TEXT NOT NULL,
      kind TEXT NOT NULL,
      body TEXT NOT NULL,
      meta TEXT NOT NULL,
      status BIGINT NOT NULL DEFAULT 0,
      attempts BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      next_at BIGINT NOT NULL,
      last_error TEXT NOT NULL DEFAULT '',
      last_response TEXT NOT NULL DEFAULT '',
      delivered_at BIGINT NOT NULL DEFAULT 0
      , ref TEXT);
  CREATE INDEX outbox_active ON outbox(order_key, id) WHERE status IN (0, 1);
  CREATE TABLE settings(
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at BIGINT NOT NULL
    );
  CREATE TABLE outbox_heads(
      order_key TEXT PRIMARY KEY,
      channel TEXT NOT NULL,
      target TEXT NOT NULL,
      job_id BIGINT NOT NULL,
      next_at BIGINT NOT NULL
    );
  CREATE INDEX outbox_heads_due ON outbox_heads(channel, target, next_at);
  CREATE INDEX outbox_dead ON outbox(id) WHERE status = 3;
  CREATE TABLE audience_history(
      user_id TEXT NOT NULL,
      audience_type BIGINT NOT NULL,
      audience_id TEXT NOT NULL,
      joined_seq BIGINT NOT NULL,
      left_seq BIGINT NOT NULL,
      PRIMARY KEY(user_id, audience_type, audience_id, joined_seq)
    );
  CREATE INDEX audience_history_audience ON audience_history(audience_type, audience_id, left_seq);
  CREATE INDEX events_audience ON events(audience_type, audience_id, seq, type, uid);
  CREATE INDEX outbox_ref ON outbox(ref, id) WHERE ref IS NOT NULL;
  CREATE INDEX groups_owner ON groups(owner, type);
  CREATE TABLE chatrooms(
      id TEXT PRIMARY KEY,
      title TEXT NOT NULL,
      "desc" TEXT NOT NULL DEFAULT '',
      portrait TEXT NOT NULL DEFAULT '',
      extra TEXT NOT NULL DEFAULT '',
      state BIGINT NOT NULL DEFAULT 0,
      mute BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );
  CREATE TABLE chatroom_managers(
      chatroom_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY(chatroom_id, user_id)
    );
  CREATE TABLE chatroom_blacklist(
      chatroom_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      state BIGINT NOT NULL,
      expired_at BIGINT NOT NULL,
      PRIMARY KEY(chatroom_id, user_id)
    );
  CREATE TABLE robots(
      user_id TEXT PRIMARY KEY,
      owner TEXT NOT NULL DEFAULT '',
      secret TEXT NOT NULL DEFAULT '',
      callback TEXT NOT NULL DEFAULT '',
      extra TEXT NOT NULL DEFAULT '',
      state BIGINT NOT NULL DEFAULT 0,
      updated_at BIGINT NOT NULL
    );
  CREATE TABLE devices(
      device_id TEXT PRIMARY KEY,
      secret TEXT NOT NULL,
      extra TEXT NOT NULL DEFAULT '',
      state BIGINT NOT NULL DEFAULT 0,
      updated_at BIGINT NOT NULL
    );
  CREATE TABLE device_owners(
      device_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY(device_id, user_id)
    );
  CREATE INDEX device_owners_user ON device_owners(user_id, device_id);
  CREATE TABLE friends(
      user_id TEXT NOT NULL,
      friend_uid TEXT NOT NULL,
      alias TEXT NOT NULL DEFAULT '',
      extra TEXT NOT NULL DEFAULT '',
      state BIGINT NOT NULL DEFAULT 1,
      blacked BIGINT NOT NULL DEFAULT 0,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY(user_id, friend_uid)
    );
  CREATE INDEX friends_friend ON friends(friend_uid);
  CREATE TABLE friend_requests(
      from_uid TEXT NOT NULL,
      to_uid TEXT NOT NULL,
      reason TEXT NOT NULL DEFAULT '',
      extra TEXT NOT NULL DEFAULT '',
      status BIGINT NOT NULL DEFAULT 0,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY(from_uid, to_uid)
    );
  CREATE INDEX friend_requests_to ON friend_requests(to_uid, updated_at);
  CREATE INDEX friend_requests_from ON friend_requests(from_uid, updated_at);
  CREATE TABLE sensitive_words(word TEXT PRIMARY KEY);
  CREATE TABLE user_settings(
      user_id TEXT NOT NULL,
      scope BIGINT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY(user_id, scope, key)
    );
  CREATE TABLE notifications(
      n BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      creator TEXT NOT NULL,
      title TEXT NOT NULL,
      body TEXT NOT NULL,
      message_type TEXT NOT NULL,
      send_method TEXT NOT NULL,
      use_web_when_miss BIGINT NOT NULL,
      lng TEXT NOT NULL,
      translations TEXT NOT NULL,
      options TEXT NOT NULL,
      recipient_count BIGINT NOT NULL,
      read_count BIGINT NOT NULL DEFAULT 0,
      has_send BIGINT NOT NULL DEFAULT 0,
      send_at BIGINT,
      send_seq BIGINT UNIQUE,
      fanout_cursor TEXT NOT NULL DEFAULT '',
      fanout_done BIGINT NOT NULL DEFAULT 0,
      date_created BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );
  CREATE INDEX notifications_fanout ON notifications(n) WHERE has_send = 1 AND fanout_done = 0;
  CREATE TABLE notification_recipients(
      n BIGINT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY(n, user_id)
    );
  CREATE TABLE notification_inbox(
      user_id TEXT NOT NULL,
      seq BIGINT NOT NULL,
      state BIGINT NOT NULL DEFAULT 0,
      PRIMARY KEY(user_id, seq)
    );
  CREATE INDEX notification_inbox_read ON notification_inbox(seq, user_id) WHERE (state & 1) = 1;
  CREATE TABLE notification_deliveries(
      n BIGINT NOT NULL,
      user_id TEXT NOT NULL,
      channel TEXT NOT NULL,
      status TEXT NOT NULL,
      error TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY(n, user_id, channel)
    );
  CREATE TABLE channel_config(
      kind TEXT NOT NULL,
      id TEXT NOT NULL,
      parent TEXT NOT NULL DEFAULT '',
      data TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      PRIMARY KEY(kind, id)
    );
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
      updated_at BIGINT NOT NULL,
      data TEXT NOT NULL
    );
  CREATE INDEX channel_conversations_original ON channel_conversations(account_id, original_id, updated_at);
  CREATE INDEX channel_conversations_contact ON channel_conversations(contact_id, updated_at);
  CREATE TABLE channel_messages(
      uid BIGINT PRIMARY KEY,
      guid TEXT NOT NULL,
      account_id TEXT NOT NULL,
      original_id TEXT,
      data TEXT NOT NULL
    );
  CREATE UNIQUE INDEX channel_messages_guid ON channel_messages(guid);
  CREATE UNIQUE INDEX channel_messages_original ON channel_messages(account_id, original_id);
  CREATE TABLE service_sessions(
      id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      service_id TEXT NOT NULL UNIQUE,
      account TEXT NOT NULL,
      contact TEXT NOT NULL,
      state TEXT NOT NULL,
      agent TEXT NOT NULL DEFAULT '',
      opened_at BIGINT NOT NULL,
      last_activity_at BIGINT NOT NULL,
      idle_at BIGINT NOT NULL,
      closed_at BIGINT NOT NULL DEFAULT 0,
      close_reason TEXT NOT NULL DEFAULT ''
    );
  CREATE UNIQUE INDEX service_sessions_current ON service_sessions(account, contact) WHERE state <> 'closed';
  CREATE INDEX service_sessions_idle ON service_sessions(idle_at) WHERE state <> 'closed';
  CREATE INDEX service_sessions_queued ON service_sessions(account, id) WHERE state = 'queued';
  CREATE INDEX service_sessions_agent ON service_sessions(agent) WHERE state = 'assigned';

  -- The cluster-wide cursor (seq) counter and other counters; see context.ts for the locking rule.
  INSERT INTO meta(key, value) VALUES ('seq', 0);

  -- Node ids leased per running node (node-lease.ts): message uids embed them.
  CREATE TABLE node_leases(
    node_id BIGINT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
  );
`;
