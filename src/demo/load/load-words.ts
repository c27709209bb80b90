/** The seed's vocabulary, reused so that rows written by the load look like seeded ones. */
export {
  COMPLAINTS,
  DOSAGES,
  FREQUENCIES,
  LAB_UNITS,
  LAST_NAMES,
  NOTE_WORDS,
  REACTIONS,
  SEVERITIES,
} from '../seed/word-lists.js';
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES } from '../seed/word-lists.js';

export const FIRST_NAMES_FOR_LOAD: readonly string[] = [...FEMALE_FIRST_NAMES, ...MALE_FIRST_NAMES];
