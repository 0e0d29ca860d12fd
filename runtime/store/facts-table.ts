/**
 * How a group's latest facts are stored: who reported them, and the facts themselves kept
 * whole as JSON in one column, like a bake's report.
 */
import type { GroupFacts } from './store.ts';
import { column, nullable, sqlName, text, time, type Codec, type JsonValue, type Table } from './table.ts';

export const GROUP_FACTS = sqlName('group_facts');

const plainObject = (value: object): boolean => [Object.prototype, null].includes(Object.getPrototypeOf(value));

/**
 * A copy of `value` when it is JSON as JSON.parse gives it, else undefined: anything
 * JSON.stringify would change or drop (NaN, undefined, a Date, a cycle) is refused, so
 * both backends give back exactly what was recorded.
 */
function jsonCopy(value: unknown, within: Set<object>): JsonValue | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'object' || within.has(value)) return undefined;
  within.add(value);
  try {
    if (Array.isArray(value)) {
      const items: JsonValue[] = [];
      for (const item of value) {
        const copied = jsonCopy(item, within);
        if (copied === undefined) return undefined;
        items.push(copied);
      }
      return items;
    }
    if (!plainObject(value)) return undefined;
    const entries: [string, JsonValue][] = [];
    for (const [key, item] of Object.entries(value)) {
      const copied = jsonCopy(item, within);
      if (copied === undefined) return undefined;
      entries.push([key, copied]);
    }
    // fromEntries defines own properties, so a `__proto__` fact stays a fact.
    return Object.fromEntries(entries);
  } finally {
    within.delete(value);
  }
}

const jsonObject = (value: unknown): { readonly [key: string]: JsonValue } | undefined => {
  const copied = typeof value === 'object' && value !== null && !Array.isArray(value) ? jsonCopy(value, new Set()) : undefined;
  return copied as { readonly [key: string]: JsonValue } | undefined;
};

/** Whatever Puppet reported, so only its being a JSON object is checked. LONGTEXT in MySQL, as MySQL's JSON type reorders keys. */
export const factsObject: Codec<Readonly<Record<string, unknown>>> = {
  kind: 'a JSON object',
  toSql: (facts) => JSON.stringify(facts),
  fromSql: (value) => {
    if (typeof value !== 'string') return undefined;
    try {
      return jsonObject(JSON.parse(value));
    } catch {
      return undefined;
    }
  },
  // The record's facts were checked on their way in, so they are JSON already.
  toJson: (facts) => facts as JsonValue,
  fromJson: jsonObject,
  check: jsonObject,
};

// No defaults: every field comes from the report that carried the facts.
export const FACTS_TABLE: Table<GroupFacts> = {
  group_name: column('group_name', text),
  bake_id: column('bake_id', text),
  certname: column('certname', text),
  instance_id: column('instance_id', text),
  environment: column('environment', nullable(text)),
  facts: column('facts', factsObject),
  recorded_at: column('recorded_at', time),
};
