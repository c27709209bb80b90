import { CarveError } from '../../errors.js';

/**
 * A pgoutput payload that cannot be decoded: truncated, too long, or with an impossible value.
 * Carries the message tag and the byte offset where decoding stopped, so a captured payload can
 * be inspected; `code` is always PGOUTPUT_DECODE_ERROR.
 */
export class DecodeError extends CarveError {
  /** Message type byte as a character ('I', 'U', …), or null for an empty payload. */
  readonly tag: string | null;
  /** Byte offset in the payload where the problem was found. */
  readonly offset: number;

  constructor(reason: string, tag: string | null, offset: number, length: number) {
    super(
      'PGOUTPUT_DECODE_ERROR',
      `cannot decode pgoutput message${tag === null ? '' : ` '${tag}'`} at byte ${offset} of ${length}: ${reason}`,
      {
        details: { tag, offset, length, reason },
        hint: 'The replication stream is corrupt or not pgoutput protocol 1; restart sync from the last acknowledged position.',
      },
    );
    this.name = 'DecodeError';
    this.tag = tag;
    this.offset = offset;
  }
}
