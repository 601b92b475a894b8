import { eachStoreBackend } from '../helpers/backends.js';
import { notificationStoreContract } from './notification-store.contract.js';

// The notification store contract on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open) => notificationStoreContract(name, open));
