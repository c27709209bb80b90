import { readFileSync } from 'node:fs';

/** carve's version, from its package.json. */
export const carveVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
