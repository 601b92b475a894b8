import { eachStoreBackend } from '../helpers/backends.js';
import { serviceSessionsContract } from './service-sessions.contract.js';

// Customer-service sessions on every store backend (test/helpers/backends.ts).
eachStoreBackend((name, open) => serviceSessionsContract(name, open));
