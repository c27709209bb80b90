import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientConfig, databaseOf, redactUrl, withDatabase, withUser } from '../../src/pg/connect.js';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { passwordFile, withCarveLogins } from '../../src/routing/carve-logins.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

const monolith = catalogOf([tableOf('orders', ['id'], { pk: ['id'] })]);

const plan = (target: string, extra = '') =>
  buildRouting(
    parsePlan(
      `name: logins\nsource: postgres://u@mono/m\ntarget: ${target}\nservices:\n  shop:\n    database: shop_db\n${extra}    tables: { orders: {} }\n`,
      { env: {} },
    ),
    monolith,
  );

describe("carve's session URLs", () => {
  it("keep the server and TLS settings of the target, never the admin's user or password", () => {
    const routing = plan(
      'postgres://admin:adminpw@db.example:6432/postgres?sslmode=require&password=qpw&sslpassword=kpw&user=admin',
    );
    const shop = routing.services[0]!;
    expect(shop.url).toBe('postgres://carve_shop@db.example:6432/shop_db?sslmode=require');
    expect(shop.adminUrl).toContain('admin:adminpw@db.example:6432/shop_db');
    expect(clientConfig(shop.url)).toMatchObject({
      user: 'carve_shop',
      database: 'shop_db',
      host: 'db.example',
    });
  });

  it('take the password from carve_password_env, else the secrets dir, else none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carve-logins-'));
    const bare = plan('postgres://admin@h/postgres');
    expect(withCarveLogins(bare, { secretsDir: dir, env: {} }).services[0]!.url).toBe(
      'postgres://carve_shop@h/shop_db',
    );
    writeFileSync(passwordFile(dir, 'carve_shop'), 'p@ss:/w?rd\n', { mode: 0o600 });
    const fromFile = withCarveLogins(bare, { secretsDir: dir, env: {} }).services[0]!.url;
    expect(clientConfig(fromFile)).toMatchObject({ user: 'carve_shop', password: 'p@ss:/w?rd' });
    const named = plan('postgres://admin@h/postgres', '    carve_password_env: SHOP_CARVE_PW\n');
    expect(() => withCarveLogins(named, { secretsDir: dir, env: {} })).toThrow(
      expect.objectContaining({
        code: 'TARGET_PASSWORD_ENV',
        details: { variables: ['SHOP_CARVE_PW'], roles: ['carve_shop'] },
      }),
    );
    const fromEnv = withCarveLogins(named, { secretsDir: dir, env: { SHOP_CARVE_PW: 'e nv' } });
    expect(clientConfig(fromEnv.services[0]!.url)).toMatchObject({ password: 'e nv' });
  });

  it('name any database, whatever characters it needs escaped', () => {
    for (const name of [
      'a;b',
      'a/b',
      'a?b',
      'a#b',
      'a&b',
      'a=b',
      'a+b',
      'a$b',
      'a,b',
      'a@b',
      'a:b',
      'a%2Fb',
      'é b"',
    ]) {
      const url = withDatabase('postgres://u@h:5432/postgres?sslmode=disable', name);
      expect(databaseOf(url)).toBe(name);
      expect(clientConfig(url).database).toBe(name);
      expect(clientConfig(withUser(url, 'r@le')).user).toBe('r@le');
    }
  });

  it('pin search_path in the startup packet, after any options of the URL', () => {
    expect(clientConfig('postgres://u@h/d', { searchPath: 'pg_catalog, pg_temp' }).options).toBe(
      '-c search_path=pg_catalog,pg_temp',
    );
    expect(
      clientConfig('postgres://u@h/d?options=-c%20work_mem%3D64MB', { searchPath: 'pg_catalog' }).options,
    ).toBe('-c work_mem=64MB -c search_path=pg_catalog');
    expect(clientConfig('postgres://u@h/d').options).toBeUndefined();
  });
});

describe('redactUrl', () => {
  it('hides passwords in the user-info part and in secret-bearing query parameters', () => {
    const redacted = redactUrl(
      'postgres://u:topsecret@h/d?password=qsecret&sslpassword=ksecret&PGPASSWORD=x1&sslmode=require&api_token=t0k',
    );
    for (const secret of ['topsecret', 'qsecret', 'ksecret', 'x1', 't0k'])
      expect(redacted).not.toContain(secret);
    expect(redacted).toContain('sslmode=require');
    expect(redactUrl('not a url password=x')).toBe('<unparseable connection URL>');
  });
});
