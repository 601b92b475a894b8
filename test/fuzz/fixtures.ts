import type { AdminClient } from '../helpers/admin-client.js';

/**
 * The fixed objects every fuzz server holds. Fuzzed inputs name them often (so that inputs reach past
 * "unknown user" into the real work) and may change them when accepted; the snapshot reads them all,
 * so that a refused input can be shown to have changed nothing. The canary users are never named by
 * generated inputs: their devices must keep receiving whatever the fuzz does.
 */
export const FX = {
  owner: 'fz-owner',
  member1: 'fz-m1',
  member2: 'fz-m2',
  outsider: 'fz-out',
  group: 'fz-group',
  channel: 'fz-chan',
  /** The fuzzed device's client id (user member1). */
  client: 'fz-dev',
  callbackTarget: 'fz-target',
  canarySender: 'cn-a',
  canaryReceiver: 'cn-b',
} as const;

export const FIXTURE_USERS = [FX.owner, FX.member1, FX.member2, FX.outsider] as const;

/** Values generated inputs draw from, by what a field names. */
export interface Pools {
  users: readonly string[];
  groups: readonly string[];
  channels: readonly string[];
  clients: readonly string[];
  names: readonly string[];
  emails: readonly string[];
  mobiles: readonly string[];
  urls: readonly string[];
  callbackTargets: readonly string[];
  /** Number of fixture messages (referenced as FixtureRef('message', i)). */
  messages: number;
}

export const POOLS: Pools = {
  users: [...FIXTURE_USERS, 'nobody'],
  groups: [FX.group, 'no-group'],
  channels: [FX.channel, 'no-chan'],
  clients: [FX.client, 'other-dev'],
  names: FIXTURE_USERS.map((u) => `name-${u}`),
  emails: FIXTURE_USERS.map((u) => `${u}@fuzz.test`),
  mobiles: ['13800000001', '13800000002'],
  // Port 9 (discard) on loopback: a callback target that fails fast without leaving the machine.
  urls: ['http://127.0.0.1:9/cb', 'https://127.0.0.1:9/', 'ftp://x', 'http://', 'javascript:alert(1)'],
  callbackTargets: [FX.callbackTarget, 'other-target'],
  messages: 4,
};

export interface FixtureMessages {
  uids: number[];
}

/**
 * Create the fixture users, group (owner + two members), channel (member1 subscribed) and messages:
 * a single chat, a group message, a multicast and a channel message. Idempotent on a fresh store.
 */
export async function createFixtures(admin: AdminClient): Promise<FixtureMessages> {
  for (const u of [...FIXTURE_USERS, FX.canarySender, FX.canaryReceiver]) {
    await admin.ok('/user/create', { userId: u, name: `name-${u}`, displayName: u, email: `${u}@fuzz.test` });
  }
  await admin.ok('/group/create', {
    operator: FX.owner,
    group: { group_info: { target_id: FX.group, name: FX.group, owner: FX.owner, type: 2 }, members: [{ member_id: FX.member1 }, { member_id: FX.member2 }] },
  });
  await admin.ok('/channel/create', { owner: FX.owner, name: FX.channel, targetId: FX.channel });
  await admin.ok('/channel/subscribe', { channelId: FX.channel, userId: FX.member1, subscribe: 1 });
  const text = (s: string) => ({ type: 1, searchableContent: s, persistFlag: 3 });
  const uids: number[] = [];
  const send = async (body: Record<string, unknown>, path = '/message/send'): Promise<void> => {
    uids.push((await admin.ok<{ messageUid: number }>(path, body)).messageUid);
  };
  await send({ sender: FX.owner, conv: { type: 0, target: FX.member1, line: 0 }, payload: text('fixture single') });
  await send({ sender: FX.owner, conv: { type: 1, target: FX.group, line: 0 }, payload: text('fixture group') });
  await send({ sender: FX.owner, targets: [FX.member1, FX.member2], line: 0, payload: text('fixture multicast') }, '/message/multicast');
  await send({ sender: FX.owner, conv: { type: 3, target: FX.channel, line: 0 }, payload: text('fixture channel') });
  return { uids };
}
