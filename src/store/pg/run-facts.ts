import type { SendChecks } from '../../core/message-plan.js';
import { ConvType, MessageKind } from '../../core/model.js';
import { loadSendFacts, sendFacts, type Routed, type SendFacts, type SendRow } from './message-facts.js';
import type { PgTx, RunStatements } from './writer.js';

/**
 * The fact reads of the common sends, shared by the sends of a writer run (PgTx.together): one
 * statement taking every send's keys as arrays instead of one statement per send. The rows read are
 * loadSendFacts' (message-facts.ts), with the same columns; what differs is only how many sends one
 * statement serves. Shared: a single chat checked at least for its target, and a group send with a
 * group message number to take and no toUsers; neither a resend. Any other send reads alone.
 */

interface SingleItem {
  sender: string;
  target: string;
}

/** Single chats: the sender's status (read for checks 'rules') and whether the target exists. */
const SINGLE_FACTS: RunStatements<SingleItem, Partial<SendRow>> = {
  run: (q, items) =>
    q.rows<Partial<SendRow>>(
      `SELECT (SELECT status FROM users WHERE id = x.s) AS sender_status, EXISTS (SELECT 1 FROM users WHERE id = x.t) AS target_exists
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(s, t, o) ORDER BY x.o`,
      [items.map((i) => i.sender), items.map((i) => i.target)],
    ),
};

interface GroupItem {
  sender: string;
  group: string;
  inlineFanoutMax: number;
}

/**
 * Group sends: each takes the group's next message number, in the order of the items (a group sent to
 * k times moves by k in one update: the sends get its old number + 1 … + k), and reads the group, the
 * sender's status and membership, and the members when the group has per-user rows.
 */
const GROUP_FACTS: RunStatements<GroupItem, Partial<SendRow>> = {
  run: (q, items) =>
    q.rows<Partial<SendRow>>(
      `WITH x AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(g, s, o)),
            n AS (SELECT g, COUNT(*) AS n FROM x GROUP BY g),
            u AS (UPDATE groups SET msg_seq = groups.msg_seq + n.n FROM n WHERE groups.id = n.g
                  RETURNING groups.id, groups.member_count, groups.mute, groups.msg_seq - n.n AS base)
       SELECT u.member_count, u.mute, u.base + row_number() OVER (PARTITION BY x.g ORDER BY x.o) AS msg_seq,
              (SELECT status FROM users WHERE id = x.s) AS sender_status,
              (SELECT type FROM group_members WHERE group_id = x.g AND user_id = x.s) AS sender_member,
              CASE WHEN u.member_count <= $3 THEN ARRAY(SELECT user_id FROM group_members WHERE group_id = x.g ORDER BY user_id COLLATE "C") END AS members
         FROM x LEFT JOIN u ON u.id = x.g ORDER BY x.o`,
      [items.map((i) => i.group), items.map((i) => i.sender), items[0]?.inlineFanoutMax ?? 0],
    ),
};

/** Any other send: its own loadSendFacts, run in the turn's order with the shared ones. */
const ALONE: RunStatements<() => Promise<SendFacts>, SendFacts> = {
  run: (_q, items) => Promise.all(items.map((read) => read())),
};

function shared(msg: Routed): (r: Partial<SendRow>) => SendFacts {
  return (r) => ({ prior: null, facts: sendFacts(msg, r), senderStatus: r.sender_status ?? undefined, relation: null, userTypes: { sender: undefined, receiver: undefined } });
}

/**
 * loadSendFacts for a send of a writer run: shared with the run's other sends where it can be. Every
 * send reads through PgTx.together (ALONE for the others), so the sends of a run get their facts, and
 * then take their seqs, in the order they were started; every path is the same number of promise
 * steps (`together(…).then(…)`), so none overtakes another on the way to its seq.
 */
export function loadSendFactsInRun(
  tx: PgTx,
  msg: Routed,
  checks: SendChecks,
  inlineFanoutMax: number,
  opts: { takeGroupSeq: boolean; withSender: boolean; withRelation: boolean; clientMsgId?: string | undefined },
): Promise<SendFacts> {
  if (msg.kind === MessageKind.conversation && opts.clientMsgId === undefined) {
    const { conv } = msg;
    if (conv.type === ConvType.single && checks !== 'none' && !opts.withRelation) {
      return tx.together(SINGLE_FACTS, { sender: msg.sender, target: conv.target }).then(shared(msg));
    }
    if (conv.type === ConvType.group && opts.takeGroupSeq && msg.toUsers.length === 0) {
      return tx.together(GROUP_FACTS, { sender: msg.sender, group: conv.target, inlineFanoutMax }).then(shared(msg));
    }
  }
  return tx.together(ALONE, () => loadSendFacts(tx, msg, checks, inlineFanoutMax, opts)).then((f) => f);
}
