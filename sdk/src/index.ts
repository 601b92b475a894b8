/**
 * @switchboard/client: a device client for Switchboard's real-time gateway
 * (docs/client-protocol.md), for browsers (global WebSocket) and Node (pass the `ws` package's
 * constructor). No runtime dependencies, no Node modules. Reference: sdk/README.md.
 *
 *   const client = new SwitchboardClient({ url: 'ws://127.0.0.1:18080/ws', token, WebSocket });
 *   client.on('message', ({ message }) => console.log(message.payload.searchableContent));
 *   await client.connect();                       // resolves once synced
 *   await client.send({ type: 0, target: 'bob', line: 0 }, { type: 1, searchableContent: 'hi', persistFlag: 3 });
 *   await client.read({ type: 0, target: 'bob', line: 0 }, Date.now());
 */
export { SwitchboardClient } from './client.js';
export { SwitchboardError } from './errors.js';
export { backoffDelay, DEFAULT_BACKOFF, type Backoff, type BackoffOptions } from './backoff.js';
export type { ClientEvent, ClientEvents, Handler } from './events.js';
export type { ClientOptions, CursorStore, WebSocketConstructor, WebSocketLike } from './options.js';
export type { ChannelDeliveryStatus, ChatroomInfo, ChatroomLeftReason, Conversation, FriendRelation, FriendRequest, Message, UserSetting, Payload, ReadResult, SendResult, ServiceSession, SyncResult } from './protocol.js';
