/**
 * Session settings for every connection sync opens to the monolith (the replication stream and
 * re-reads). pgoutput renders values with the walsender's own output functions, so these decide
 * the text the targets parse: ISO dates (never an ambiguous DMY/MDY form), the default interval
 * style, and floats with every digit.
 */
const SOURCE_OPTIONS = '-c datestyle=ISO,YMD -c intervalstyle=postgres -c extra_float_digits=3';

/** The URL with those settings added to its `options` parameter (kept if it already has some). */
export function sourceSessionUrl(url: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', existing ? `${existing} ${SOURCE_OPTIONS}` : SOURCE_OPTIONS);
  return parsed.toString();
}
