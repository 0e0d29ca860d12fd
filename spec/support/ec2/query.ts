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

function tagsOf(record: object): Tags | undefined {
  return 'tags' in record ? (record.tags as Tags) : undefined;
}

function valuesFor<T extends object>(record: T, name: string, fields: FilterFields<T>): readonly string[] | undefined {
  const tags = tagsOf(record) ?? new Map<string, string>();
  if (name.startsWith('tag:')) {
    const value = tags.get(name.slice(4));
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return [...tags.keys()];
  if (name === 'tag-value') return [...tags.values()];
  const field = fields[name];
  if (!field) return undefined;
  const value = field(record);
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

/**
 * Filters AND together; the values of one filter OR together. Unknown filter names are an error,
 * as on EC2; records without tags (regions, template versions) take no tag filters.
 */
export function applyFilters<T extends object>(records: T[], params: Params, fields: FilterFields<T>): T[] {
  const filters = params.list('Filter').map((f) => ({
    name: f.req('Name'),
    patterns: f.strings('Value').map(wildcard),
  }));
  const tagged = records.length === 0 || records.some((r) => tagsOf(r) !== undefined);
  for (const { name } of filters) {
    const tagFilter = name.startsWith('tag:') || name === 'tag-key' || name === 'tag-value';
    const known = (tagFilter && tagged) || name in fields;
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

/** The MaxResults range an action accepts; most Describe actions take 5..1000. */
export interface PageLimits {
  min: number;
  max: number;
}

const DEFAULT_LIMITS: PageLimits = { min: 5, max: 1000 };

function maxResultsOf(params: Params, limits: PageLimits): number | undefined {
  const maxResults = params.int('MaxResults');
  if (maxResults !== undefined && (maxResults < limits.min || maxResults > limits.max)) {
    throw invalidValue('maxResults', String(maxResults), `expecting a value between ${limits.min} and ${limits.max}`);
  }
  return maxResults;
}

function encodeToken(action: string, position: number): string {
  return Buffer.from(JSON.stringify({ a: action, s: position })).toString('base64url');
}

/**
 * Paging over a list whose order is computed per request (newest version first, references
 * grouped by image): the token is the count already returned.
 */
export function pageByIndex<T>(items: T[], params: Params, action: string, limits: PageLimits = DEFAULT_LIMITS): Page<T> {
  const maxResults = maxResultsOf(params, limits);
  const token = params.str('NextToken');
  const start = token ? decodeToken(token, action) : 0;
  const rest = items.slice(start);
  if (maxResults === undefined || rest.length <= maxResults) return { items: rest };
  return { items: rest.slice(0, maxResults), nextToken: encodeToken(action, start + maxResults) };
}

/**
 * MaxResults/NextToken paging over records in creation order. The token names the last
 * record returned (by sequence number), so records created or removed between pages do not
 * shift what the next page holds.
 */
export function paginate<T extends { seq: number }>(records: T[], params: Params, action: string, limits = DEFAULT_LIMITS): Page<T> {
  const maxResults = maxResultsOf(params, limits);
  const token = params.str('NextToken');
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  let after = 0;
  if (token !== undefined && token !== '') {
    after = decodeToken(token, action);
  }
  const rest = sorted.filter((r) => r.seq > after);
  if (maxResults === undefined) return { items: rest };
  const items = rest.slice(0, maxResults);
  const last = items[items.length - 1];
  if (rest.length > maxResults && last) return { items, nextToken: encodeToken(action, last.seq) };
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
