import { eachBusBackend } from '../helpers/backends.js';
import { busContract } from './bus.contract.js';

// The Bus contract on every bus backend (test/helpers/backends.ts lists them).
eachBusBackend((name, open) => busContract(name, open));
