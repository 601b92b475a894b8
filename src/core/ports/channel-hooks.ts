import type { ChannelConversation, ChannelMessage } from '../channel-apps/model.js';

/**
 * What the channel gateway's inbound side tells the rest of the core (customer-service sessions,
 * part B), after the message is stored and announced. The inbound request waits for them; a hook
 * that throws fails the request with an internal error while the message stays stored (a seed 000
 * retry then answers the stored guid without calling the hooks again).
 */
export interface ChannelHooks {
  /** A contact's message was stored (direction 'in'), e.g. open or refresh a session. */
  onInbound(conversation: ChannelConversation, message: ChannelMessage): Promise<void>;
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
