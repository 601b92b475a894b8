import { eachStoreBackend } from '../helpers/backends.js';
import { outboxClaimNextContract } from './outbox-claim-next.contract.js';
import { outboxLookaheadContract } from './outbox-lookahead.contract.js';
import { outboxContract } from './outbox.contract.js';

// The outbox contract on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open, caps) => {
  outboxContract(name, open, caps);
  outboxClaimNextContract(name, open, caps);
  outboxLookaheadContract(name, open, caps);
});
