import { eachStoreBackend } from '../helpers/backends.js';
import { relationStoreContract } from './relation-store.contract.js';

// The relation parts of the Store on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open) => relationStoreContract(name, open));
