import { eachStoreBackend } from '../helpers/backends.js';
import { channelAppsContract } from './channel-apps.contract.js';

// The channel gateway's store part on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open) => channelAppsContract(name, open));
