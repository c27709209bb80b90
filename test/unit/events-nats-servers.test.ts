import { describe, expect, it } from 'vitest';
import { serverList } from '../../src/events/nats-sink.js';
import { redactText } from '../../src/pg/redact.js';

describe('events.nats servers', () => {
  it('moves credentials out of the server URLs and never labels a server with them', () => {
    const list = serverList(['nats://carve:pa%40ss@n1:4222', 'n2:4222']);
    expect(list.servers).toEqual(['nats://n1:4222', 'n2:4222']);
    expect(list.auth).toEqual({ user: 'carve', pass: 'pa@ss' });
    expect(list.labels).toEqual(['n1:4222', 'n2:4222']);
    const token = serverList(['tls://s3cr3t@n1:4222']);
    expect(token.auth).toEqual({ token: 's3cr3t' });
    expect(token.labels.join()).not.toContain('s3cr3t');
  });

  it('masks passwords and tokens of NATS URLs in free text', () => {
    expect(redactText('connect nats://carve:pw@n1:4222 failed')).toBe(
      'connect nats://carve:***@n1:4222 failed',
    );
    expect(redactText('connect nats://tok3n@n1:4222 failed')).toBe('connect nats://***@n1:4222 failed');
  });
});
