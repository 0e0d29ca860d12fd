import { ConfigError } from './errors.ts';
import { jsPattern } from './interface/patterns.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = jsPattern('duration');

/** `45m`, `30s`, `1h`, `500ms`, `90d`, or a bare number of seconds → milliseconds. */
export function parseDuration(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value * 1000;
  const text = typeof value === 'string' ? value.trim() : '';
  if (!DURATION.test(text)) throw new ConfigError(key, `expected a duration such as 45m, 30s or 1h, got ${JSON.stringify(value)}`);
  // The pattern has matched, so the text is a number followed by exactly one unit.
  const unit = text.endsWith('ms') ? 'ms' : text.slice(-1);
  const amount = Number(text.slice(0, -unit.length)) * UNITS[unit]!;
  if (amount <= 0) throw new ConfigError(key, `must be longer than zero, got ${JSON.stringify(value)}`);
  return amount;
}
