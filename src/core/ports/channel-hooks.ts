import type { ChannelConversation, ChannelMessage } from '../channel-apps/model.js';
import type { ServiceSession } from '../service-session-rules.js';
import type { SessionActivity } from './service-sessions.js';

/**
 * What the channel gateway's inbound side tells the rest of the core (customer-service sessions,
 * part B), after the message is stored and announced. The inbound request waits for them; a hook
 * that throws fails the request with an internal error while the message stays stored (a seed 000
 * retry then answers the stored guid without calling the hooks again).
 */
export interface ChannelHooks {
  /**
   * What a contact's message about to be stored in the conversation does to the contact's open session,
   * applied in the message's own write (MessageDraft.session); undefined: nothing.
   */
  inboundActivity?(conversation: ChannelConversation): SessionActivity | undefined;
  /**
   * A contact's message was stored (direction 'in'), e.g. open or refresh a session. `session`: the
   * contact's open session as the message's write found and touched it (null: none open), when that
   * write applied inboundActivity; undefined when it did not (a resent message).
   */
  onInbound(conversation: ChannelConversation, message: ChannelMessage, session?: ServiceSession | null): Promise<void>;
  /**
   * The contact asked for a human agent (a seed 002 event whose key is configured as such, e.g.
   * `event.CLICK.RG`, or a `staffService/demand`), e.g. open a session and assign an agent.
   */
  onHumanRequested(conversation: ChannelConversation, message: ChannelMessage): Promise<void>;
}

/** No sessions: nothing happens (the default until part B registers its hooks). */
export const NO_CHANNEL_HOOKS: ChannelHooks = {
  onInbound: async () => {},
  onHumanRequested: async () => {},
};
