import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { policyOf, type ChannelPolicy } from '../outbox/policy.js';
import { AFTER_COMMANDS, ALL_COMMANDS, DEFAULT_BEFORE_SEND_CONCURRENCY, type CallbackTarget } from './targets.js';

/** Check a command list against the commands Switchboard emits; returns it, or the after-callbacks by default. */
export function commandList(list: string[] | undefined, where: string): string[] {
  if (list === undefined) return [...AFTER_COMMANDS];
  const unknown = list.filter((c) => !ALL_COMMANDS.includes(c));
  if (unknown.length > 0) throw new ConfigError(`${where}: unknown callback command(s) ${unknown.join(', ')} (known: ${ALL_COMMANDS.join(', ')})`);
  return [...new Set(list)];
}

/** The callback targets the configuration defines: the default one (callbacks.url) and callbacks.targets. */
export function configuredTargets(config: Config): CallbackTarget[] {
  const c = config.callbacks;
  const out: CallbackTarget[] = [];
  if (c.url) {
    out.push({
      id: 'default',
      url: checkUrl(c.url, 'callbacks.url'),
      sdkAppId: c.sdkAppId,
      token: c.token,
      hmacSecret: c.hmacSecret,
      commands: commandList(c.commands, 'callbacks.commands'),
      timeoutMs: c.timeoutMs,
      beforeSendPolicy: c.beforeSendPolicy,
      beforeSendConcurrency: c.beforeSendConcurrency ?? DEFAULT_BEFORE_SEND_CONCURRENCY,
      enabled: true,
      source: 'config',
    });
  }
  for (const [i, t] of c.targets.entries()) {
    if (out.some((o) => o.id === t.id)) throw new ConfigError(`callbacks.targets[${i}].id: duplicate id ${t.id}`);
    out.push({
      id: t.id,
      url: checkUrl(t.url, `callbacks.targets[${i}].url`),
      sdkAppId: t.sdkAppId,
      token: t.token,
      hmacSecret: t.hmacSecret,
      commands: commandList(t.commands, `callbacks.targets[${i}].commands`),
      timeoutMs: t.timeoutMs ?? c.timeoutMs,
      beforeSendPolicy: t.beforeSendPolicy ?? c.beforeSendPolicy,
      beforeSendConcurrency: t.beforeSendConcurrency ?? c.beforeSendConcurrency ?? DEFAULT_BEFORE_SEND_CONCURRENCY,
      enabled: t.enabled ?? true,
      source: 'config',
    });
  }
  return out;
}

export function checkUrl(url: string, where: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${where}: not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${where}: must be an http(s) URL`);
  return url;
}

/**
 * The delivery policy of the webhook channel (callback jobs): the `callbacks.*` retry, lease,
 * concurrency and breaker settings (and their SWITCHBOARD_CALLBACK_* env variables).
 */
export function webhookPolicy(config: Config): ChannelPolicy {
  return policyOf(config.callbacks);
}
