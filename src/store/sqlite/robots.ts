import type { Robot } from '../../core/model.js';
import { UserType } from '../../core/model.js';
import type { RobotFields, RobotStore, UserFields } from '../../core/ports/store.js';
import type { SqliteContext } from './context.js';
import type { SqliteUsers } from './users.js';

interface RobotRow {
  user_id: string;
  owner: string;
  secret: string;
  callback: string;
  extra: string;
  state: number;
}

const COLS = 'user_id, owner, secret, callback, extra, state';

function toRobot(r: RobotRow): Robot {
  return { userId: r.user_id, owner: r.owner, secret: r.secret, callback: r.callback, extra: r.extra, state: r.state };
}

/** Robot records (table robots), beside their users rows (type 1). */
export class SqliteRobots implements RobotStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
  ) {}

  upsertRobot(userId: string, user: UserFields & { name: string }, robot: RobotFields): Promise<Robot> {
    return this.ctx.write(() => {
      this.users.upsertIn(userId, { ...user, type: UserType.robot });
      this.ctx
        .stmt(
          `INSERT INTO robots(user_id, owner, secret, callback, extra, state, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?)
           ON CONFLICT(user_id) DO UPDATE SET owner = excluded.owner, secret = excluded.secret, callback = excluded.callback,
             extra = excluded.extra, state = 0, updated_at = excluded.updated_at`,
        )
        .run(userId, robot.owner, robot.secret, robot.callback, robot.extra, Date.now());
      return toRobot(this.ctx.stmt(`SELECT ${COLS} FROM robots WHERE user_id = ?`).get(userId) as RobotRow);
    });
  }

  getRobot(userId: string): Promise<Robot | null> {
    return this.ctx.read(() => {
      if (!this.users.exists(userId)) return null;
      const r = this.ctx.stmt(`SELECT ${COLS} FROM robots WHERE user_id = ?`).get(userId) as RobotRow | undefined;
      return r ? toRobot(r) : null;
    });
  }

  robotsWithCallback(limit: number): Promise<Robot[]> {
    return this.ctx.read(() =>
      (this.ctx.stmt(`SELECT ${COLS} FROM robots WHERE callback <> '' ORDER BY user_id LIMIT ?`).all(limit) as RobotRow[]).map(toRobot),
    );
  }
}
