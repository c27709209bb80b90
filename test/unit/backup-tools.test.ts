import { describe, expect, it } from 'vitest';
import {
  exactTablePattern,
  hasTableData,
  parseToolVersion,
  tocEntries,
  toolConnection,
} from '../../src/backup/pg-dump.js';

describe('pg_dump helpers', () => {
  it('keeps the password off the command line: URL without it, PGPASSWORD in the env', () => {
    const c = toolConnection('postgres://carve:s3cr%40t@db1:5433/app?sslmode=require&password=other');
    expect(c.dbname).not.toContain('s3cr');
    expect(c.dbname).not.toContain('password');
    expect(c.dbname).toContain('sslmode=require');
    expect(c.dbname).toMatch(/^postgres:\/\/carve@db1:5433\/app/);
    expect(c.env.PGPASSWORD).toBeDefined();
    const none = toolConnection('postgres://carve@db1/app');
    expect(none.env.PGPASSWORD).toBe(process.env.PGPASSWORD);
  });

  it('quotes table patterns exactly and reads versions and tables of contents', () => {
    expect(exactTablePattern('public', 'a"b*')).toBe('"public"."a""b*"');
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)\n')).toEqual({
      text: '15.8',
      major: 15,
    });
    const list = tocEntries(
      ';\n; Archive created at\n3396; 0 16390 TABLE DATA public patients carve\n215; 1259 16390 TABLE public patients carve\n3397; 0 16391 TABLE DATA public odd "name" carve\n',
    );
    expect(list).toHaveLength(3);
    expect(hasTableData(list, 'public', 'patients')).toBe(true);
    expect(hasTableData(list, 'public', 'odd "name"')).toBe(true);
    expect(hasTableData(list, 'public', 'visits')).toBe(false);
  });
});
