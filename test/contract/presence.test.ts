import { RedisPresence } from '../../src/bus/redis-presence.js';
import { LocalPresence } from '../../src/delivery/local-presence.js';
import { dropPrefix, testPrefix, testRedisUrl } from '../helpers/backends.js';
import { presenceContract } from './presence.contract.js';

// The Presence contract on every backend: in memory (one node) and Redis (a fresh key prefix per test).
presenceContract('local', async (nodeId) => {
  const presence = new LocalPresence(nodeId);
  return { presence, cleanup: () => presence.close() };
});

presenceContract('redis', async (nodeId) => {
  const url = testRedisUrl();
  const prefix = testPrefix();
  const presence = await RedisPresence.connect({ url, prefix, nodeId });
  return {
    presence,
    cleanup: async () => {
      await presence.close();
      await dropPrefix(url, prefix);
    },
  };
});
