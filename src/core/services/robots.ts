import { CoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import type { Robot, User } from '../model.js';
import { ConvType, GroupMemberType } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { Store, UserFields } from '../ports/store.js';
import { newId, newToken } from '../tokens.js';

/** The outbox channel of robot callbacks (its policy: outbox.channels.robot). */
export const ROBOT_CHANNEL = 'robot';
/** The kind of a robot callback job (what the delivery log shows). */
export const ROBOT_MESSAGE = 'Robot.Message';

/** Most robots with a callback routed at once (robots are few; past it the newest are not loaded). */
export const MAX_ROUTED_ROBOTS = 10_000;
/** Groups whose robot members are remembered (dropped on the group's invalidation). */
const MAX_GROUPS_CACHED = 10_000;

export interface RobotInput {
  userId?: string | undefined;
  name: string;
  profile: UserFields;
  owner?: string | undefined;
  secret?: string | undefined;
  callback?: string | undefined;
  robotExtra?: string | undefined;
}

/** A callback URL: absolute http(s), or "" for none. */
export function checkCallbackUrl(url: string): void {
  if (url === '') return;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CoreError('invalid_parameter', 'callback must be an absolute http(s) URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CoreError('invalid_parameter', 'callback must be an absolute http(s) URL');
}

/**
 * Robots: users of type 1 whose incoming messages are posted to their callback URL (outbox channel
 * `robot`, planned by src/robots/planner.ts in the send's transaction); they answer through the admin
 * API. Also the directory that routing reads on the send path: the robots with a callback, loaded once
 * and reloaded after any robot or user change (`cache.invalidate` scope robot or user, on every node),
 * and the robot members of groups, remembered until the group's invalidation. With no robot configured
 * the send path pays nothing.
 */
export class RobotService {
  private routed: Promise<Map<string, Robot>> | null = null;
  private readonly groupRobots = new Map<string, Promise<string[]>>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeGaps: () => void;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
  ) {
    this.unsubscribe = bus.subscribe((e) => this.handle(e));
    // Invalidations may have been missed (bus gap): the directory is read again on next use.
    this.unsubscribeGaps =
      bus.onGap?.(() => {
        this.routed = null;
        this.groupRobots.clear();
      }) ?? (() => undefined);
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeGaps();
  }

  private handle(e: HubEvent): void {
    if (e.type !== 'cache.invalidate') return;
    if (e.scope === 'robot' || e.scope === 'user') {
      // A user change may be a robot's destruction (or an id reused): reload lazily.
      if (e.scope === 'robot' || this.routed !== null) {
        this.routed = null;
        this.groupRobots.clear();
      }
    } else if (e.scope === 'group') {
      this.groupRobots.delete(e.id);
    }
  }

  /**
   * Create or update a robot (Wildfire's robot/create): its user (type 1) and record. A missing
   * userId is generated, a missing owner is the robot itself, a missing secret is generated.
   */
  async create(input: RobotInput): Promise<{ userId: string; secret: string }> {
    if (input.name === '') throw new CoreError('invalid_parameter', 'name is required');
    const callback = input.callback ?? '';
    checkCallbackUrl(callback);
    const userId = input.userId && input.userId !== '' ? input.userId : newId();
    const f = { ...input.profile, name: input.name };
    if (f.displayName === '' || f.displayName === undefined) f.displayName = input.name;
    const robot = await this.store.robots.upsertRobot(userId, f, {
      owner: input.owner && input.owner !== '' ? input.owner : userId,
      secret: input.secret && input.secret !== '' ? input.secret : newToken(),
      callback,
      extra: input.robotExtra ?? '',
    });
    await this.bus.publish({ type: 'cache.invalidate', scope: 'robot', id: userId });
    await this.bus.publish({ type: 'cache.invalidate', scope: 'user', id: userId });
    return { userId, secret: robot.secret };
  }

  /** The robot's user and record; not_exist unless both exist. */
  async get(robotId: string): Promise<{ user: User; robot: Robot }> {
    const [user, robot] = await Promise.all([this.store.users.getUser({ userId: robotId }), this.store.robots.getRobot(robotId)]);
    if (!user || !robot) throw new CoreError('not_exist', `robot ${robotId} does not exist`);
    return { user, robot };
  }

  /** The robots with a callback, by id (cached). */
  withCallback(): Promise<Map<string, Robot>> {
    if (this.routed) return this.routed;
    const p = this.store.robots.robotsWithCallback(MAX_ROUTED_ROBOTS).then((rs) => new Map(rs.map((r) => [r.userId, r])));
    this.routed = p;
    p.catch(() => {
      if (this.routed === p) this.routed = null;
    });
    return p;
  }

  /** The current callback of a robot, or null (not a robot any more, or no callback). */
  async callbackOf(robotId: string): Promise<string | null> {
    return (await this.withCallback()).get(robotId)?.callback || null;
  }

  /**
   * The robots (with a callback) a message from `sender` to `conv` reaches: the other party of a
   * single chat, the robot members of a group (restricted to `toUsers` when given); never the sender.
   * Other conversation types reach none.
   */
  async receivers(sender: string, conv: { type: number; target: string }, toUsers: string[]): Promise<string[]> {
    const robots = await this.withCallback();
    if (robots.size === 0) return [];
    let ids: string[];
    if (conv.type === ConvType.single) ids = [conv.target];
    else if (conv.type === ConvType.group) {
      ids = await this.robotMembers(conv.target, robots);
      if (toUsers.length > 0) ids = ids.filter((r) => toUsers.includes(r));
    } else return [];
    return ids.filter((r) => r !== sender && robots.has(r));
  }

  private robotMembers(groupId: string, robots: Map<string, Robot>): Promise<string[]> {
    const hit = this.groupRobots.get(groupId);
    if (hit) return hit;
    const p = (async () => {
      const out: string[] = [];
      for (const id of robots.keys()) {
        const m = await this.store.groups.getMember(groupId, id);
        if (m && m.type !== GroupMemberType.removed) out.push(id);
      }
      return out;
    })();
    if (this.groupRobots.size >= MAX_GROUPS_CACHED) this.groupRobots.clear();
    this.groupRobots.set(groupId, p);
    p.catch(() => {
      if (this.groupRobots.get(groupId) === p) this.groupRobots.delete(groupId);
    });
    return p;
  }
}
