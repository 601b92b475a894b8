import { MemoryChatroomMembership } from '../../src/chatrooms/memory-membership.js';
import { membershipContract } from './chatroom-membership.contract.js';

membershipContract('memory', async () => ({ membership: new MemoryChatroomMembership(), cleanup: async () => undefined }));
