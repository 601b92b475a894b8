import type { SettingsStore } from '../../core/ports/store.js';
import type { SqliteContext } from './context.js';

export class SqliteSettings implements SettingsStore {
  constructor(private readonly ctx: SqliteContext) {}

  get(key: string): Promise<unknown> {
    return this.ctx.read(() => {
      const r = this.ctx.stmt('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
      return r ? (JSON.parse(r.value) as unknown) : undefined;
    });
  }

  list(prefix: string): Promise<Array<{ key: string; value: unknown }>> {
    return this.ctx.read(() =>
      (
        this.ctx.stmt('SELECT key, value FROM settings WHERE key >= ? AND key < ? ORDER BY key').all(prefix, `${prefix}\uffff`) as Array<{
          key: string;
          value: string;
        }>
      ).map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown })),
    );
  }

  put(key: string, value: unknown): Promise<void> {
    return this.ctx.write(() => {
      this.ctx
        .stmt('INSERT INTO settings(key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
        .run(key, JSON.stringify(value), Date.now());
    });
  }

  remove(key: string): Promise<boolean> {
    return this.ctx.write(() => this.ctx.stmt('DELETE FROM settings WHERE key = ?').run(key).changes > 0);
  }
}
