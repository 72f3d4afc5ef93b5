import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database of its own for one test file, dropped at the end. */
export interface IsolatedDatabase {
  readonly url: string;
  readonly drop: () => Promise<void>;
}

export async function createIsolatedDatabase(serverUrl: string): Promise<IsolatedDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
