/**
 * How long an `Idempotency-Key` holds (SPEC §4): a replay within it gets the
 * first response and delivers nothing again. The one value of it: the service
 * reads records no older, and the stores keep them and prune them by it.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** The window as the API documents say it. */
export const IDEMPOTENCY_WINDOW = `${IDEMPOTENCY_TTL_MS / 3_600_000} h`;
