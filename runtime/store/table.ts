/**
 * A record's fields, each described once: its MySQL column, how its value is written to
 * and read back from MySQL and the embedded file, and what a row gets when the field is
 * not given. Column lists, row decoding, the embedded document and new rows are all
 * derived from one such table, so a field cannot be kept in one place and forgotten in
 * another: a table that lacks a field of its record does not compile.
 */
import { ValidationError } from '../errors.ts';

/** A statement parameter as mysql2 takes it. */
export type SqlValue = string | number | null;
/** What the embedded file holds. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * One kind of value in its three forms: the record's, MySQL's and the embedded file's.
 * The readers answer undefined for a value that is not of the kind (no record field holds
 * undefined), so the caller can name the field in its error.
 */
export interface Codec<T> {
  /** For messages: "is not <kind>". */
  readonly kind: string;
  toSql(value: T): SqlValue;
  /** From a row as mysql2 returns it (dateStrings: DATETIME as text). */
  fromSql(value: unknown): T | undefined;
  toJson(value: T): JsonValue;
  fromJson(value: unknown): T | undefined;
  /** A record value from a caller, checked and copied, so the store never keeps a caller's object. */
  check(value: unknown): T | undefined;
}

/** A field of a record kept only inside another (a bake's report). */
export interface Field<T> {
  readonly codec: Codec<T>;
  /** What a new row, or a document from before the field existed, gets; none: it must be given. */
  readonly default?: T;
}

export interface Column<T> extends Field<T> {
  /** The MySQL column. */
  readonly name: string;
  /** The column as statement text: statements name columns only through this. */
  readonly sql: string;
}

/** `-?`: a shape or table lacking any field of `R`, optional or not, is a type error. */
export type Shape<R> = { readonly [K in keyof R]-?: Field<R[K]> };
export type Table<R> = { readonly [K in keyof R]-?: Column<R[K]> };

/** What a caller may leave out: the fields with a default. */
export type Given<R> = { readonly [K in keyof R]?: R[K] | undefined };

const SQL_NAME = /^[a-z_][a-z0-9_]*$/;

/** A table or column name as statement text; only names we wrote ever get here. */
export function sqlName(name: string): string {
  if (!SQL_NAME.test(name)) throw new Error(`not a plain SQL name: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

export function column<T>(name: string, codec: Codec<T>, options: { readonly default?: T } = {}): Column<T> {
  return { name, sql: sqlName(name), codec, ...options };
}

export const field = <T>(codec: Codec<T>, options: { readonly default?: T } = {}): Field<T> => ({ codec, ...options });

export const isObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function preview(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function read<T>(name: string, codec: Codec<T>, decoded: T | undefined, raw: unknown): T {
  if (decoded === undefined) throw new ValidationError(name, `is not ${codec.kind}: ${preview(raw)}`);
  return decoded;
}

/** A caller's value for one field, checked: ValidationError naming `name` otherwise. */
export const checked = <T>(name: string, codec: Codec<T>, value: unknown): T => read(name, codec, codec.check(value), value);

/** A caller's value for the field `key` of a shape's record, checked. */
export const checkedField = <R, K extends keyof R & string>(shape: Shape<R>, key: K, value: unknown): R[K] => checked(key, shape[key].codec, value);

/** Builds `R` one field at a time, in the table's order. */
function build<R>(shape: Shape<R>, value: <K extends keyof R & string>(key: K, field: Field<R[K]>) => R[K]): R {
  const record: Partial<R> = {};
  for (const key in shape) record[key] = value(key, shape[key]);
  // Shape<R> maps every key of R, so having visited them all the record is whole.
  return record as R;
}

function given<T>(key: string, field: Field<T>, value: unknown): T {
  if (value !== undefined) return checked(key, field.codec, value);
  if (field.default === undefined) throw new ValidationError(key, 'is required');
  return field.default;
}

/** A record from a caller's fields: only the shape's, each checked and copied; absent ones take their default. */
export const fill = <R>(shape: Shape<R>, input: NoInfer<Given<R>>): R => build(shape, (key, field) => given(key, field, input[key]));

export const toJson = <R>(shape: Shape<R>, record: R): Record<string, JsonValue> => {
  const out: Record<string, JsonValue> = {};
  for (const key in shape) out[key] = shape[key].codec.toJson(record[key]);
  return out;
};

/** A record from the embedded file; a field the document predates takes its default. */
export const fromJson = <R>(shape: Shape<R>, raw: Readonly<Record<string, unknown>>): R =>
  build(shape, (key, field) => {
    const value = raw[key];
    if (value === undefined) {
      if (field.default === undefined) throw new ValidationError(key, 'is missing');
      return field.default;
    }
    return read(key, field.codec, field.codec.fromJson(value), value);
  });

/** `a`, `b`, ... in the table's order: the SELECT and INSERT lists. */
export function columnList<R>(table: Table<R>): string {
  const names: string[] = [];
  for (const key in table) names.push(table[key].sql);
  return names.join(', ');
}

/** INSERT of every column, in the order sqlValues gives them. */
export function insertInto<R>(sqlTable: string, table: Table<R>): string {
  return `INSERT INTO ${sqlTable} (${columnList(table)}) VALUES (${Object.keys(table).map(() => '?').join(', ')})`;
}

export function sqlValues<R>(table: Table<R>, record: R): SqlValue[] {
  const values: SqlValue[] = [];
  for (const key in table) values.push(table[key].codec.toSql(record[key]));
  return values;
}

export const fromRow = <R>(table: Table<R>, row: Readonly<Record<string, unknown>>): R =>
  build(table, (key) => {
    const { name, codec } = table[key];
    return read(name, codec, codec.fromSql(row[name]), row[name]);
  });

/** `col` = ? and its value: an entry of an UPDATE's SET list, or a condition of its WHERE. */
export const columnEquals = <R, K extends keyof R>(table: Table<R>, key: K, value: R[K]): [string, SqlValue] => [
  `${table[key].sql} = ?`,
  table[key].codec.toSql(value),
];

// ---- codecs ---------------------------------------------------------------------------

/** A codec whose MySQL form is its JSON form (strings and numbers, as mysql2 returns them). */
function plain<T extends string | number>(kind: string, accept: (value: unknown) => T | undefined): Codec<T> {
  return { kind, toSql: (value) => value, fromSql: accept, toJson: (value) => value, fromJson: accept, check: accept };
}

export const text = plain('a string', (value) => (typeof value === 'string' ? value : undefined));

export const integer = plain('an integer', (value) => (typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined));

/** A string `pattern` accepts (a digest); a row or file holding anything else is refused. */
export const matching = (kind: string, pattern: RegExp): Codec<string> =>
  plain(kind, (value) => (typeof value === 'string' && pattern.test(value) ? value : undefined));

/** One of `values`; a row or file holding anything else is refused rather than passed on. */
export const oneOf = <V extends string>(kind: string, values: readonly V[]): Codec<V> => plain(kind, (value) => values.find((v) => v === value));

/** TINYINT(1) in MySQL, a JSON boolean in the file. */
export const flag: Codec<boolean> = {
  kind: 'true or false',
  toSql: (value) => (value ? 1 : 0),
  fromSql: (value) => (value === 1 ? true : value === 0 ? false : undefined),
  toJson: (value) => value,
  fromJson: (value) => (typeof value === 'boolean' ? value : undefined),
  check: (value) => (typeof value === 'boolean' ? value : undefined),
};

// DATETIME(3)'s range, from the epoch on: a time both backends keep to the millisecond.
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const epochMs = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= LATEST ? value : undefined;
// An offset-less or free-form date would be read in local time, so the file's times carry a zone.
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)$/;
// dateStrings: mysql2 returns DATETIME(3) as this text, and the session's zone is UTC.
const DATETIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?$/;

/**
 * A point in time, epoch milliseconds in the record: DATETIME(3) holding UTC in MySQL, an
 * ISO-8601 string in the file (readable, and what files have always held).
 */
export const time: Codec<number> = {
  kind: 'a time',
  toSql: (ms) => new Date(ms).toISOString().slice(0, 23).replace('T', ' '),
  fromSql: (value) => (typeof value === 'string' && DATETIME.test(value) ? epochMs(Date.parse(`${value.replace(' ', 'T')}Z`)) : undefined),
  toJson: (ms) => new Date(ms).toISOString(),
  fromJson: (value) => (typeof value === 'string' && ISO.test(value) ? epochMs(Date.parse(value)) : undefined),
  check: epochMs,
};

export function nullable<T>(codec: Codec<T>): Codec<T | null> {
  const or = <A extends unknown[]>(inner: (value: unknown, ...rest: A) => T | undefined) => (value: unknown, ...rest: A) =>
    value === null ? null : inner(value, ...rest);
  return {
    kind: `${codec.kind} or null`,
    toSql: (value) => (value === null ? null : codec.toSql(value)),
    fromSql: or(codec.fromSql),
    toJson: (value) => (value === null ? null : codec.toJson(value)),
    fromJson: or(codec.fromJson),
    check: or(codec.check),
  };
}

/** Parsed JSON text from a LONGTEXT column; undefined when it is not JSON. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * A value MySQL keeps as JSON text in a LONGTEXT column (MySQL's JSON type reorders keys),
 * and the file as the JSON itself.
 */
function jsonText<T>(kind: string, toJson: (value: T) => JsonValue, fromJson: (value: unknown) => T | undefined): Codec<T> {
  return {
    kind,
    toSql: (value) => JSON.stringify(toJson(value)),
    fromSql: (value) => fromJson(parsed(value)),
    toJson,
    fromJson,
    check: fromJson,
  };
}

export const textList: Codec<readonly string[]> = jsonText(
  'a list of strings',
  (list) => [...list],
  (value) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? value.map(String) : undefined),
);

/** A record kept whole in one column (a bake's report), its fields described by `shape`. */
export function nested<R>(kind: string, shape: Shape<R>): Codec<R> {
  // Inside a value the field's name is lost: the whole value is "not a <kind>".
  const whole = (decode: (raw: Readonly<Record<string, unknown>>) => R) => (value: unknown): R | undefined => {
    if (!isObject(value)) return undefined;
    try {
      return decode(value);
    } catch (error) {
      if (error instanceof ValidationError) return undefined;
      throw error;
    }
  };
  return {
    ...jsonText(kind, (record) => toJson(shape, record), whole((raw) => fromJson(shape, raw))),
    check: whole((raw) => build(shape, (key, field) => given(key, field, raw[key]))),
  };
}

/**
 * An object whose keys `keys` accepts, each value read by `values` (a region's image, its
 * copy's id), kept as JSON text in MySQL. A row or file holding one bad key or value is
 * refused whole, naming the field, rather than handed on partly read.
 */
export function mapOf<V>(kind: string, keys: RegExp, values: Codec<V>): Codec<Readonly<Record<string, V>>> {
  const each = (read: (value: unknown) => V | undefined) => (value: unknown): Readonly<Record<string, V>> | undefined => {
    if (!isObject(value)) return undefined;
    const entries: [string, V][] = [];
    for (const [key, raw] of Object.entries(value)) {
      const decoded = keys.test(key) ? read(raw) : undefined;
      if (decoded === undefined) return undefined;
      entries.push([key, decoded]);
    }
    // fromEntries defines own properties, so no key can reach the prototype.
    return Object.fromEntries(entries);
  };
  const toJsonMap = (map: Readonly<Record<string, V>>): JsonValue => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, values.toJson(value)]));
  return { ...jsonText(kind, toJsonMap, each(values.fromJson)), check: each(values.check) };
}

/**
 * A list whose items `values` reads (a diff's changed resources), kept as JSON text in MySQL.
 * One bad item refuses the whole list, as mapOf does.
 */
export function listOf<V>(kind: string, values: Codec<V>): Codec<readonly V[]> {
  const each = (read: (value: unknown) => V | undefined) => (value: unknown): readonly V[] | undefined => {
    if (!Array.isArray(value)) return undefined;
    const items: V[] = [];
    for (const raw of value) {
      const decoded = read(raw);
      if (decoded === undefined) return undefined;
      items.push(decoded);
    }
    return items;
  };
  return { ...jsonText(kind, (list) => list.map((item) => values.toJson(item)), each(values.fromJson)), check: each(values.check) };
}
