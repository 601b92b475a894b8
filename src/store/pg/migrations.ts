import type pg from 'pg';
import { checkSchemaName } from './pool.js';
import { BASE_SCHEMA } from './schema/base.js';
import { USERS_ORDER_COUNT } from './schema/users.js';
import { OUTBOX_SCHEMA } from './schema/outbox.js';
import { MESSAGES_SCHEMA } from './schema/messages.js';

/**
 * PostgreSQL migrations, applied in order, each in its own transaction, recorded by name in
 * schema_migrations. Several nodes starting at once are serialized by an advisory lock, so each
 * migration runs once. Never edit a released migration: append a new one (any part's files may
 * contribute; the order here is the order applied).
 */
export interface Migration {
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  { name: '001-base', sql: BASE_SCHEMA },
  { name: '002-users-order-count', sql: USERS_ORDER_COUNT },
  { name: '020-outbox-delivered-counter', sql: OUTBOX_SCHEMA },
  { name: '020-messages-inbox-uid', sql: MESSAGES_SCHEMA },
];


export async function migrate(pool: pg.Pool, schema: string, migrations: Migration[] = MIGRATIONS): Promise<void> {
  checkSchemaName(schema);
  const client = await pool.connect();
  try {
    // One lock per schema (several deployments, or test runs, may share a database).
    await client.query("SELECT pg_advisory_lock(hashtext('switchboard-migrate:' || $1))", [schema]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations(name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
      for (const m of migrations) {
        if (done.has(m.name)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations(name, applied_at) VALUES ($1, $2)', [m.name, Date.now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext('switchboard-migrate:' || $1))", [schema]);
    }
  } finally {
    client.release();
  }
}
