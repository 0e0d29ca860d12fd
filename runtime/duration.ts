import { ConfigError } from './errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `45m`, `30s`, `1h`, `500ms`, or a bare number of seconds → milliseconds. */
export function parseDuration(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value * 1000;
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim()) : null;
  if (!match) throw new ConfigError(key, `expected a duration such as 45m, 30s or 1h, got ${JSON.stringify(value)}`);
  const amount = Number(match[1]) * UNITS[match[2]!]!;
  if (amount <= 0) throw new ConfigError(key, `must be longer than zero, got ${JSON.stringify(value)}`);
  return amount;
}
