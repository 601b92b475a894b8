import type { MessageKindValue, MessageStatusValue, Payload, StoredMessage } from '../../core/model.js';

/**
 * The messages table's row shape, its mapping to the domain, and the codes stored in the event and
 * audience columns, shared by every SQL store (the column names and codes are the same in each
 * dialect; integers arrive as numbers in each driver).
 */
export interface MessageRow {
  uid: number;
  seq: number;
  sender: string;
  conv_type: number;
  conv_target: string;
  conv_line: number;
  payload: string;
  to_users: string | null;
  kind: number;
  status: number;
  timestamp: number;
  updated_at: number;
  expire_at: number;
  client_id: string;
  platform: number;
  recipients: string | null;
}

export const MESSAGE_COLS =
  'uid, seq, sender, conv_type, conv_target, conv_line, payload, to_users, kind, status, timestamp, updated_at, expire_at, client_id, platform, recipients';

export function toMessage(r: MessageRow): StoredMessage {
  return {
    uid: r.uid,
    sender: r.sender,
    conv: { type: r.conv_type, target: r.conv_target, line: r.conv_line },
    payload: JSON.parse(r.payload) as Payload,
    toUsers: r.to_users ? (JSON.parse(r.to_users) as string[]) : [],
    kind: r.kind as MessageKindValue,
    status: r.status as MessageStatusValue,
    timestamp: r.timestamp,
    updatedAt: r.updated_at,
    clientId: r.client_id,
    platform: r.platform,
  };
}

export const EventType = { message: 1, recall: 2, update: 3, delete: 4, clear: 5, conv_delete: 6, read: 7 } as const;
export const AudienceType = { group: 1, channel: 2, all: 3 } as const;
