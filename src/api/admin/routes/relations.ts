import { Type } from '@sinclair/typebox';
import type { Hub } from '../../../core/hub.js';
import { MAX_SENSITIVE_WORD_LENGTH, MAX_SETTING_KEY_LENGTH, MAX_USER_LIST } from '../../../core/limits.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Id, Int, Int32, OptExtra, OptText, Str, StrList } from '../schemas.js';

/** Wildfire's OutputStringList. */
const StringListOut = Type.Object({ list: StrList });

/** Wildfire's InputOutputSensitiveWords: at most MAX_USER_LIST words of 1..MAX_SENSITIVE_WORD_LENGTH characters per call. */
const WordsIn = Type.Object({
  words: Type.Array(Type.String({ minLength: 1, maxLength: MAX_SENSITIVE_WORD_LENGTH }), { maxItems: MAX_USER_LIST }),
});

/** A setting key: any string up to MAX_SETTING_KEY_LENGTH, "" included (Wildfire's global scopes use it). */
const SettingKey = Type.String({ maxLength: MAX_SETTING_KEY_LENGTH });

/**
 * Wildfire's RelationAdmin (friend/*, blacklist/*, relation/get), SensitiveAdmin (sensitive/*) and the
 * professional edition's user settings (user/put_setting, user/get_setting), with the shapes of the
 * SDK's POJOs. Users need not exist, as in Wildfire (docs/admin-api.md §15).
 */
export function relationRoutes(hub: Hub): AdminRouteDef[] {
  const rel = hub.relations;
  const tags = ['relations'];
  return [
    adminRoute({
      path: '/friend/status',
      summary: 'Make two users friends (status 0) or not (1), both ways; extra overwrites userId’s extra',
      tags,
      body: Type.Object({ userId: Id, friendUid: Id, status: Int32, extra: OptExtra }),
      handler: (b) => rel.setFriend(b.userId, b.friendUid, b.status, b.extra ?? ''),
    }),
    adminRoute({
      path: '/friend/list',
      summary: "A user's friends, oldest friendship change first",
      tags,
      body: Type.Object({ userId: Id }),
      result: StringListOut,
      handler: async (b) => ({ list: await rel.friends(b.userId) }),
    }),
    adminRoute({
      path: '/friend/set_alias',
      summary: "The operator's alias for targetId (\"\" clears it)",
      tags,
      body: Type.Object({ operator: Id, targetId: Id, alias: OptText }),
      handler: (b) => rel.setAlias(b.operator, b.targetId, b.alias ?? ''),
    }),
    adminRoute({
      path: '/friend/get_alias',
      summary: "The operator's alias for targetId (absent when the operator keeps nothing about targetId)",
      tags,
      body: Type.Object({ operator: Id, targetId: Id }),
      result: Type.Object({ operator: Str, targetId: Str, alias: Type.Optional(Str) }),
      handler: async (b) => {
        const r = await rel.relation(b.operator, b.targetId);
        return { operator: b.operator, targetId: b.targetId, ...(r ? { alias: r.alias } : {}) };
      },
    }),
    adminRoute({
      path: '/friend/set_extra',
      summary: "The operator's extra about targetId",
      tags,
      body: Type.Object({ operator: Id, targetId: Id, extra: OptExtra }),
      handler: (b) => rel.setExtra(b.operator, b.targetId, b.extra ?? ''),
    }),
    adminRoute({
      path: '/friend/send_request',
      summary: "A friend request from userId to friendUid, shown live on friendUid's devices (force skips the repeat and blacklist checks)",
      tags,
      body: Type.Object({ userId: Id, friendUid: Id, reason: OptText, force: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])) }),
      handler: async (b) => {
        await rel.sendRequest(b.userId, b.friendUid, b.reason ?? '', b.force === true);
      },
    }),
    adminRoute({
      path: '/blacklist/status',
      summary: "Put targetUid on userId's blacklist (status 2) or take it off (1 or 0)",
      tags,
      body: Type.Object({ userId: Id, targetUid: Id, status: Int32 }),
      handler: (b) => rel.setBlacklist(b.userId, b.targetUid, b.status),
    }),
    adminRoute({
      path: '/blacklist/list',
      summary: "A user's blacklist, oldest change first",
      tags,
      body: Type.Object({ userId: Id }),
      result: StringListOut,
      handler: async (b) => ({ list: await rel.blacklist(b.userId) }),
    }),
    adminRoute({
      path: '/relation/get',
      summary: 'What first keeps about second: friends, blacklisted, alias, extra',
      tags,
      body: Type.Object({ first: Id, second: Id }),
      result: Type.Object({ userId: Str, targetId: Str, isFriend: Type.Boolean(), isBlacked: Type.Boolean(), alias: Type.Optional(Str), extra: Type.Optional(Str) }),
      handler: async (b) => {
        const r = await rel.relation(b.first, b.second);
        return {
          userId: b.first,
          targetId: b.second,
          isFriend: r?.state === 0,
          isBlacked: r?.blacked === 1,
          ...(r ? { alias: r.alias, extra: r.extra } : {}),
        };
      },
    }),
    adminRoute({
      path: '/sensitive/add',
      summary: 'Add sensitive words (stored lower-cased; device messages containing one are filtered)',
      tags: ['sensitive'],
      body: WordsIn,
      handler: (b) => hub.sensitiveWords.add(b.words),
    }),
    adminRoute({
      path: '/sensitive/del',
      summary: 'Remove sensitive words',
      tags: ['sensitive'],
      body: WordsIn,
      handler: (b) => hub.sensitiveWords.remove(b.words),
    }),
    adminRoute({
      path: '/sensitive/query',
      summary: 'Every sensitive word, sorted',
      tags: ['sensitive'],
      body: Type.Object({}),
      result: Type.Object({ words: StrList }),
      handler: async () => ({ words: await hub.sensitiveWords.list() }),
    }),
    adminRoute({
      path: '/user/put_setting',
      summary: "Set one of a user's settings by scope and key (scope 3, key \"type-line-target\": conversation top)",
      tags: ['users'],
      body: Type.Object({ userId: Id, scope: Int32, key: SettingKey, value: OptExtra }),
      handler: async (b) => {
        await hub.userSettings.put(b.userId, b.scope, b.key, b.value ?? '');
      },
    }),
    adminRoute({
      path: '/user/get_setting',
      summary: 'One of a user’s settings (value "" when never set)',
      tags: ['users'],
      body: Type.Object({ userId: Id, scope: Int32, key: SettingKey }),
      result: Type.Object({ userId: Str, scope: Int, key: Str, value: Str }),
      handler: async (b) => {
        const s = await hub.userSettings.get(b.userId, b.scope, b.key);
        return { userId: s.userId, scope: s.scope, key: s.key, value: s.value };
      },
    }),
  ];
}
