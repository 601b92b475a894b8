import { eachStoreBackend } from '../helpers/backends.js';
import { directoryContract } from './directory.contract.js';

// The directory contract (robots, devices, group members, users by email) on every store backend.
eachStoreBackend((name, open) => directoryContract(name, open));
