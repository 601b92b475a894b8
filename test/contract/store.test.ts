import { eachStoreBackend } from '../helpers/backends.js';
import { storeContract } from './store.contract.js';

// The Store contract on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open) => storeContract(name, open));
