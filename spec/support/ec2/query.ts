import { Ec2Fault, invalidValue } from './errors.ts';
import type { Tags } from './model.ts';
import type { Params } from './wire.ts';

/** Filter name → the record's value(s) for it; `tag:KEY`, `tag-key`, `tag-value` are built in. */
export type FilterFields<T> = Record<string, (record: T) => string | readonly string[] | undefined>;

/** EC2 filter values take `*` and `?` wildcards, with `\` escaping them. */
function wildcard(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) source += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function valuesFor<T extends { tags: Tags }>(record: T, name: string, fields: FilterFields<T>): readonly string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = record.tags.get(name.slice(4));
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return [...record.tags.keys()];
  if (name === 'tag-value') return [...record.tags.values()];
  const field = fields[name];
  if (!field) return undefined;
  const value = field(record);
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

/** Filters AND together; the values of one filter OR together. Unknown filter names are an error, as on EC2. */
export function applyFilters<T extends { tags: Tags }>(records: T[], params: Params, fields: FilterFields<T>): T[] {
  const filters = params.list('Filter').map((f) => ({
    name: f.req('Name'),
    patterns: f.strings('Value').map(wildcard),
  }));
  for (const { name } of filters) {
    const known = name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value' || name in fields;
    if (!known) throw new Ec2Fault('InvalidParameterValue', `The filter '${name}' is invalid`);
  }
  return records.filter((record) =>
    filters.every(({ name, patterns }) => {
      const values = valuesFor(record, name, fields) ?? [];
      return values.some((value) => patterns.some((p) => p.test(value)));
    }),
  );
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * MaxResults/NextToken paging over records in creation order. The token names the last
 * record returned (by sequence number), so records created or removed between pages do not
 * shift what the next page holds.
 */
export function paginate<T extends { seq: number }>(records: T[], params: Params, action: string): Page<T> {
  const maxResults = params.int('MaxResults');
  const token = params.str('NextToken');
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  let after = 0;
  if (token !== undefined && token !== '') {
    after = decodeToken(token, action);
  }
  const rest = sorted.filter((r) => r.seq > after);
  if (maxResults === undefined) return { items: rest };
  if (maxResults < 5 || maxResults > 1000) {
    throw invalidValue('maxResults', String(maxResults), 'expecting a value between 5 and 1000');
  }
  const items = rest.slice(0, maxResults);
  const last = items[items.length - 1];
  if (rest.length > maxResults && last) {
    return { items, nextToken: Buffer.from(JSON.stringify({ a: action, s: last.seq })).toString('base64url') };
  }
  return { items };
}

function decodeToken(token: string, action: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'a' in parsed && 's' in parsed) {
      const { a, s } = parsed as { a: unknown; s: unknown };
      if (a === action && typeof s === 'number') return s;
    }
  } catch {
    // fall through: any undecodable token is simply invalid
  }
  throw new Ec2Fault('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
}
