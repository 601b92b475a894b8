import type { Robot } from '../../core/model.js';
import { UserType } from '../../core/model.js';
import type { RobotFields, RobotStore, UserFields } from '../../core/ports/store.js';
import type { PgContext } from './context.js';
import { upsertUserIn } from './users.js';

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

/** Robot records (table robots) on PostgreSQL, beside their users rows (type 1). */
export class PgRobots implements RobotStore {
  constructor(private readonly ctx: PgContext) {}

  upsertRobot(userId: string, user: UserFields & { name: string }, robot: RobotFields): Promise<Robot> {
    return this.ctx.write(async (tx) => {
      await upsertUserIn(tx, userId, { ...user, type: UserType.robot });
      const r = await tx.row<RobotRow>(
        `INSERT INTO robots(user_id, owner, secret, callback, extra, state, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6)
         ON CONFLICT (user_id) DO UPDATE SET owner = EXCLUDED.owner, secret = EXCLUDED.secret, callback = EXCLUDED.callback,
           extra = EXCLUDED.extra, state = 0, updated_at = EXCLUDED.updated_at
         RETURNING ${COLS}`,
        [userId, robot.owner, robot.secret, robot.callback, robot.extra, Date.now()],
      );
      return toRobot(r!);
    });
  }

  async getRobot(userId: string): Promise<Robot | null> {
    const r = await this.ctx.db.row<RobotRow>(`SELECT ${COLS} FROM robots r WHERE user_id = $1 AND EXISTS (SELECT 1 FROM users WHERE id = r.user_id)`, [userId]);
    return r ? toRobot(r) : null;
  }

  async robotsWithCallback(limit: number): Promise<Robot[]> {
    return (await this.ctx.db.rows<RobotRow>(`SELECT ${COLS} FROM robots WHERE callback <> '' ORDER BY user_id COLLATE "C" LIMIT $1`, [limit])).map(toRobot);
  }
}
