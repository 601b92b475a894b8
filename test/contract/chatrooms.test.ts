import { eachStoreBackend } from '../helpers/backends.js';
import { chatroomStoreContract } from './chatroom-store.contract.js';

// The chatroom part of the Store on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open) => chatroomStoreContract(name, open));
