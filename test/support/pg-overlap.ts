/**
 * What pg 8 prints when a query is issued on a client still executing another ("Calling
 * client.query() when the client is already executing a query is deprecated"); pg 9 throws instead.
 */
export const PG_OVERLAP_WARNING = 'already executing a query';
