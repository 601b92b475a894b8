import type { SettingsStore } from '../../core/ports/store.js';
import type { PgContext } from './context.js';

/** Runtime settings (JSON text by key) on PostgreSQL. */
export class PgSettings implements SettingsStore {
  constructor(private readonly ctx: PgContext) {}

  async get(key: string): Promise<unknown> {
    const r = await this.ctx.db.row<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return r ? (JSON.parse(r.value) as unknown) : undefined;
  }

  async list(prefix: string): Promise<Array<{ key: string; value: unknown }>> {
    // By key in code point order, as SQLite's binary comparison, whatever the database's collation.
    const rows = await this.ctx.db.rows<{ key: string; value: string }>(
      'SELECT key, value FROM settings WHERE starts_with(key, $1) ORDER BY key COLLATE "C"',
      [prefix],
    );
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown }));
  }

  put(key: string, value: unknown): Promise<void> {
    return this.ctx.write(async (tx) => {
      await tx.run(
        `INSERT INTO settings(key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
        [key, JSON.stringify(value), Date.now()],
      );
    });
  }

  remove(key: string): Promise<boolean> {
    return this.ctx.write(async (tx) => (await tx.run('DELETE FROM settings WHERE key = $1', [key])) > 0);
  }
}
