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
 * API. Also the directory that routing reads on the send path (on every node): the robots with a
 * callback, the robot members of groups, remembered until the group's invalidation. Loaded once, reloaded
 * after `cache.invalidate` scope robot (a robot created or changed) or scope user of a routed robot
 * (destroyed); other user changes cost nothing. With no robot configured the send path pays a map
 * lookup.
 */
export class RobotService {
  private routed: Promise<Map<string, Robot>> | null = null;
  /** The resolved value of `routed` (null while it loads). */
  private loaded: Map<string, Robot> | null = null;
  private readonly groupRobots = new Map<string, Promise<string[]>>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeGaps: () => void;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
  ) {
    this.unsubscribe = bus.subscribe((e) => this.handle(e));
    // Missed bus traffic may include invalidations: drop the directory, it reloads on the next send.
    this.unsubscribeGaps = bus.onGap?.(() => this.invalidateAll()) ?? (() => undefined);
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeGaps();
  }

  /** Drop everything cached (a bus gap): the next send reloads. */
  invalidateAll(): void {
    this.routed = null;
    this.loaded = null;
    this.groupRobots.clear();
  }

  private handle(e: HubEvent): void {
    if (e.type !== 'cache.invalidate') return;
    if (e.scope === 'robot' || (e.scope === 'user' && this.mayRoute(e.id))) {
      // A robot created or changed, or a routed robot's user changed (destroyed, id reused): reload lazily.
      this.invalidateAll();
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

  /**
   * The secret a robot signs its own API calls with (Wildfire's RobotService): not_exist for a user
   * that is not a robot, no_right for a robot without a secret.
   */
  async secretOf(robotId: string): Promise<string> {
    const robot = await this.store.robots.getRobot(robotId);
    if (!robot) throw new CoreError('not_exist', `robot ${robotId} does not exist`);
    if (robot.secret === '') throw new CoreError('no_right', 'the robot has no secret');
    return robot.secret;
  }

  /**
   * Set ("" clears) the URL a robot's incoming messages are posted to (the robot's own
   * set_callback / delete_callback); its profile, owner, secret and extra stay.
   */
  async setCallback(robotId: string, callback: string): Promise<void> {
    checkCallbackUrl(callback);
    const { user, robot } = await this.get(robotId);
    if (robot.callback === callback) return;
    const profile: UserFields & { name: string } = {
      name: user.name,
      displayName: user.displayName,
      portrait: user.portrait,
      gender: user.gender,
      mobile: user.mobile,
      email: user.email,
      address: user.address,
      company: user.company,
      social: user.social,
      extra: user.extra,
    };
    await this.store.robots.upsertRobot(robotId, profile, { owner: robot.owner, secret: robot.secret, callback, extra: robot.extra });
    await this.bus.publish({ type: 'cache.invalidate', scope: 'robot', id: robotId });
    await this.bus.publish({ type: 'cache.invalidate', scope: 'user', id: robotId });
  }

  /** Whether a change of user `id` may change routing: it is a routed robot, or the directory is loading. */
  private mayRoute(id: string): boolean {
    if (this.routed === null) return false;
    return this.loaded === null || this.loaded.has(id);
  }

  /** The robots with a callback, by id (cached). */
  withCallback(): Promise<Map<string, Robot>> {
    if (this.routed) return this.routed;
    const p = this.store.robots.robotsWithCallback(MAX_ROUTED_ROBOTS).then((rs) => {
      const m = new Map(rs.map((r) => [r.userId, r]));
      if (this.routed === p) this.loaded = m;
      return m;
    });
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
