import { eachStoreBackend } from '../helpers/backends.js';
import { channelOutContract } from './channel-out.contract.js';

// Customer-service sessions and channel delivery status on every store backend (test/helpers/backends.ts).
eachStoreBackend((name, open) => channelOutContract(name, open));
