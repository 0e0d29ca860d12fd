/**
 * Clients (the generated Ruby faces) read times as ISO-8601 UTC strings; inside the
 * sidecar they are epoch milliseconds. Handlers convert here, on the way out.
 */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
