import { eachStoreBackend } from '../helpers/backends.js';
import { notifyDeliveryContract } from './notify-delivery.contract.js';

// The notification-delivery store contract on every store backend (test/helpers/backends.ts lists them).
eachStoreBackend((name, open) => notifyDeliveryContract(name, open));
