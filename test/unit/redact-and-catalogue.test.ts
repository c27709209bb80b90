import { describe, expect, it } from 'vitest';
import { errorCatalogue, exitCategoryOf, isCarveErrorCode } from '../../src/error-catalogue.js';
import { CarveError, isCarveError } from '../../src/errors.js';
import { redactText, redactUrl, redactValue } from '../../src/pg/redact.js';

describe('passwords never printed', () => {
  it('masks the userinfo password and a password parameter of a URL', () => {
    expect(redactUrl('postgres://u:s3cret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactUrl('postgres://u@h/db?sslmode=require&password=s3cret')).toBe(
      'postgres://u@h/db?sslmode=require&password=***',
    );
    expect(redactUrl('postgres://u@h/db?PASSWORD=s3cret')).not.toContain('s3cret');
    expect(redactUrl('not a url s3cret')).not.toContain('s3cret');
  });

  it('masks URLs, password=… pairs and a known secret inside free text and nested values', () => {
    const text = `cannot reach postgresql://a:pw1@x/db, nor "host=y password=pw2 dbname=z", nor 'password = "pw 3"'`;
    const out = redactText(text);
    for (const secret of ['pw1', 'pw2', 'pw 3']) expect(out).not.toContain(secret);
    expect(out).toContain('postgresql://a:***@x/db');
    expect(redactText('it said hunter2 twice: hunter2', 'hunter2')).toBe('it said *** twice: ***');
    expect(redactValue({ urls: ['postgres://u:pw@h/d'], n: 1, nested: { s: 'password=pw' } })).toEqual({
      urls: ['postgres://u:***@h/d'],
      n: 1,
      nested: { s: 'password=***' },
    });
  });
});

describe('the error catalogue', () => {
  it('has one entry per code, each with an exit category', () => {
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(['failed', 'usage', 'incomplete', 'mismatch']).toContain(spec.exit);
      expect(spec.means.length).toBeGreaterThan(10);
      expect(isCarveErrorCode(code)).toBe(true);
    }
    expect(isCarveErrorCode('NOT_A_CODE')).toBe(false);
    expect(exitCategoryOf('PLAN_INVALID')).toBe('usage');
    expect(exitCategoryOf('VERIFY_ABORTED')).toBe('incomplete');
  });

  it('types details per code: narrowed by isCarveError, read without casts', () => {
    const error: unknown = new CarveError('MIGRATION_LOCKED', 'busy', {
      details: { migration: 'm', holder: { pid: 7, command: 'sync', application: 'carve migrate (m)' } },
    });
    expect(isCarveError(error, 'MIGRATION_LOCKED') && error.details.holder?.command).toBe('sync');
    expect(isCarveError(error, 'PLAN_INVALID')).toBe(false);
  });
});
