import { describe, expect, it } from 'vitest';
import { isWidening } from '../../src/sync/type-widening.js';

describe('isWidening (the type changes sync applies by itself)', () => {
  it.each([
    ['character varying(32)', 'character varying(64)'],
    ['character varying(32)', 'character varying'],
    ['character varying(32)', 'text'],
    ['character varying', 'text'],
    ['text', 'character varying'],
    ['smallint', 'integer'],
    ['integer', 'bigint'],
    ['bigint', 'numeric'],
    ['numeric(10,2)', 'numeric(12,2)'],
    ['numeric(10,2)', 'numeric'],
    ['bit varying(4)', 'bit varying(8)'],
    ['timestamp(3) without time zone', 'timestamp without time zone'],
    ['timestamp(3) with time zone', 'timestamp(6) with time zone'],
  ])('%s → %s is a widening', (from, to) => {
    expect(isWidening(from, to)).toBe(true);
  });

  it.each([
    ['text', 'character varying(64)'],
    ['character varying(64)', 'character varying(32)'],
    ['bigint', 'integer'],
    ['integer', 'numeric(10,0)'],
    ['numeric(10,2)', 'numeric(12,3)'],
    ['numeric', 'numeric(30,2)'],
    ['integer', 'text'],
    ['timestamp without time zone', 'timestamp with time zone'],
    ['character(4)', 'character(8)'],
    ['integer[]', 'bigint[]'],
    ['text', 'text'],
  ])('%s → %s is not', (from, to) => {
    expect(isWidening(from, to)).toBe(false);
  });
});
