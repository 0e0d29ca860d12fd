/**
 * The parameter schema language shared by the sidecar (request validation) and the
 * generator (Ruby options and help). A field is described once and both sides follow it.
 */
import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { userInfo } from 'node:os';
import { ValidationError } from '../errors.ts';

/** `json`: a JSON object taken whole (facts), bounded by the length of its JSON text. */
export type FieldType = 'string' | 'integer' | 'boolean' | 'string[]' | 'json';

/** Checks that need the host the sidecar runs on, not just the value. */
export type HostCheck = 'readable_file';

export interface FieldDef {
  readonly type: FieldType;
  readonly summary: string;
  readonly required?: boolean;
  readonly default?: string | number | boolean;
  /** The option's argument as shown in help, e.g. `AMI` in `--image AMI`. */
  readonly placeholder?: string;
  readonly pattern?: RegExp;
  /** Plain words for what `pattern` accepts; goes into the error message. */
  readonly expected?: string;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  readonly secret?: boolean;
  /** Line breaks and tabs allowed (PEM text); other control characters still are not. */
  readonly multiline?: boolean;
  readonly check?: HostCheck;
  /**
   * Taken from this Puppet setting instead of an option of its own: Puppet claims some
   * flags (`--noop`) for itself, so the face reads the setting the flag already set.
   */
  readonly puppetSetting?: string;
  /** A list left out stays out instead of becoming empty: a change leaves the setting as it was. */
  readonly keepAbsent?: true;
}

export type Params = Record<string, unknown>;
export type Schema = Readonly<Record<string, FieldDef>>;

type ValueOfType<T extends FieldType> = T extends 'integer' ? number
  : T extends 'boolean' ? boolean
  : T extends 'string[]' ? readonly string[]
  : T extends 'json' ? Readonly<Record<string, unknown>>
  : string;

/** A field's value once validated: a `values` list narrows a string to its members. */
export type ValueOf<F extends FieldDef> = F extends { readonly values: readonly (infer V extends string)[] }
  ? F['type'] extends 'string[]' ? readonly V[] : V
  : ValueOfType<F['type']>;

/** Validation always sets a required field, one with a default, and a list (empty when not given). */
type AlwaysSet<F extends FieldDef> = F extends { readonly required: true } ? true
  : F extends { readonly default: string | number | boolean } ? true
  : F extends { readonly keepAbsent: true } ? false
  : F extends { readonly type: 'string[]' } ? true
  : false;

/**
 * The params a handler receives for `S`, inferred from the definition itself, so a handler
 * reads `params.keep` as a number without a cast and a renamed field fails to compile.
 */
export type ParamsOf<S extends Schema> = {
  readonly [K in keyof S as AlwaysSet<S[K]> extends true ? K : never]: ValueOf<S[K]>;
} & {
  readonly [K in keyof S as AlwaysSet<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
};

const DEFAULT_MAX_LENGTH = 1024;
const MAX_LIST_ITEMS = 256;
// C0 and C1 control characters and DEL: no legitimate name, path or password holds them,
// and they corrupt terminals, logs and shell-adjacent tools downstream.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_CHARS_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** JSON text of a value; a value nested too deep for JSON.stringify's recursion is named by its kind instead. */
function preview(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? 'a deeply nested list' : 'a deeply nested object';
  }
}

function describeValue(field: FieldDef, value: unknown): string {
  if (field.secret) return '(value hidden)';
  const text = preview(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function checkString(name: string, field: FieldDef, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(name, `expected a string, got ${describeValue(field, value)}`);
  if (value.length === 0) throw new ValidationError(name, 'must not be empty');
  const max = field.maxLength ?? DEFAULT_MAX_LENGTH;
  if (value.length > max) throw new ValidationError(name, `longer than ${max} characters`);
  if (!value.isWellFormed()) throw new ValidationError(name, 'is not valid UTF-8 text');
  if ((field.multiline ? CONTROL_CHARS_BUT_LINES : CONTROL_CHARS).test(value)) throw new ValidationError(name, `${describeValue(field, value)} contains control characters`);
  if (field.values && !field.values.includes(value)) {
    throw new ValidationError(name, `${describeValue(field, value)} is not one of ${field.values.join(', ')}`);
  }
  if (field.pattern && !field.pattern.test(value)) {
    const expected = field.expected ?? `a value matching ${field.pattern.source}`;
    throw new ValidationError(name, `${describeValue(field, value)} is not valid (expected ${expected})`);
  }
  return value;
}

function checkValue(name: string, field: FieldDef, value: unknown): unknown {
  switch (field.type) {
    case 'string':
      return checkString(name, field, value);
    case 'integer': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw new ValidationError(name, `expected an integer, got ${describeValue(field, value)}`);
      }
      if (field.min !== undefined && value < field.min) throw new ValidationError(name, `${value} is below ${field.min}`);
      if (field.max !== undefined && value > field.max) throw new ValidationError(name, `${value} is above ${field.max}`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw new ValidationError(name, `expected true or false, got ${describeValue(field, value)}`);
      return value;
    case 'string[]': {
      if (!Array.isArray(value)) throw new ValidationError(name, `expected a list of strings, got ${describeValue(field, value)}`);
      if (value.length > MAX_LIST_ITEMS) throw new ValidationError(name, `more than ${MAX_LIST_ITEMS} entries`);
      return value.map((item, index) => checkString(`${name}[${index}]`, field, item));
    }
    case 'json':
      return checkJson(name, field, value);
  }
}

const MAX_JSON_DEPTH = 32;

function depthOf(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit === 0) return 1;
  let deepest = 0;
  for (const inner of Object.values(value)) deepest = Math.max(deepest, depthOf(inner, limit - 1));
  return deepest + 1;
}

function checkJson(name: string, field: FieldDef, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(name, `expected a JSON object, got ${describeValue(field, value)}`);
  if (depthOf(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new ValidationError(name, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  const max = field.maxLength ?? DEFAULT_MAX_LENGTH;
  const length = JSON.stringify(value).length;
  if (length > max) throw new ValidationError(name, `its JSON text is ${length} characters, over ${max}`);
  return value;
}

async function checkHost(name: string, field: FieldDef, value: unknown): Promise<void> {
  if (field.check !== 'readable_file' || typeof value !== 'string') return;
  if (!value.startsWith('/')) throw new ValidationError(name, `${describeValue(field, value)} is not an absolute path`);
  try {
    const info = await stat(value);
    if (!info.isFile()) throw new ValidationError(name, `${describeValue(field, value)} is not a regular file`);
    await access(value, constants.R_OK);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist (for the sidecar)' : await unreadableReason(value);
    throw new ValidationError(name, `${describeValue(field, value)} ${reason}`, error);
  }
}

/**
 * The sidecar reads the file later, as its own user and with the unit's groups (which are
 * not the user's own), so the fix that works is the one this names: ownership by that user.
 */
async function unreadableReason(path: string): Promise<string> {
  const { username, uid } = userInfo();
  const fix = `give it to the sidecar's user: chown ${username} FILE && chmod 0600 FILE`;
  try {
    const info = await stat(path);
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    return `is not readable by the sidecar, which runs as user ${username} (uid ${uid}); the file is uid ${info.uid} gid ${info.gid} mode ${mode}: ${fix}`;
  } catch {
    return `is not reachable by the sidecar, which runs as user ${username} (uid ${uid}): a directory on its path is closed to it; keep the key where that user can reach it (e.g. under its state_dir) and ${fix}`;
  }
}

const JS_TYPE: Readonly<Record<FieldType, (value: unknown) => boolean>> = {
  string: (value) => typeof value === 'string',
  integer: (value) => typeof value === 'number',
  boolean: (value) => typeof value === 'boolean',
  'string[]': (value) => Array.isArray(value),
  json: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
};

/** What validation needs of a schema, worked out once: every report would otherwise list a score of fields twice. */
interface Compiled {
  readonly fields: readonly (readonly [string, FieldDef])[];
  readonly hostChecked: boolean;
}

const compiledSchemas = new WeakMap<Schema, Compiled>();

function compiled(schema: Schema): Compiled {
  let known = compiledSchemas.get(schema);
  if (!known) {
    const fields = Object.entries(schema);
    known = { fields, hostChecked: fields.some(([, field]) => field.check !== undefined) };
    compiledSchemas.set(schema, known);
  }
  return known;
}

/** True when validating against `schema` touches the host (a file check), so only `validate` will do. */
export function needsHost(schema: Schema): boolean {
  return compiled(schema).hostChecked;
}

/**
 * The last word before a handler sees `params` as `ParamsOf<S>`: every field validation
 * always sets is there, and every value has its declared JavaScript type.
 */
function conforms<S extends Schema>(fields: Compiled['fields'], params: Params): params is Params & ParamsOf<S> {
  for (const [name, field] of fields) {
    const value = params[name];
    if (value === undefined) {
      if (field.required || field.default !== undefined || (field.type === 'string[]' && !field.keepAbsent)) return false;
    } else if (!JS_TYPE[field.type](value)) {
      return false;
    }
  }
  return true;
}

/**
 * Validate `input` against `schema` as far as the value alone decides: unknown keys,
 * missing required fields, wrong types and bad values are each a ValidationError naming
 * the field. Defaults are filled in. Refuses a schema with host checks: use `validate`.
 */
export function checkParams<S extends Schema>(schema: S, input: unknown): ParamsOf<S> {
  const { fields, hostChecked } = compiled(schema);
  if (hostChecked) throw new Error('checkParams: this schema has host checks, so only validate() may check it');
  return checkFields<S>(schema, fields, input);
}

function checkFields<S extends Schema>(schema: S, fields: Compiled['fields'], input: unknown): ParamsOf<S> {
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('params', 'expected an object of named parameters');
  }
  const given = input as Params;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) throw new ValidationError(key, 'is not a known parameter');
  }
  const result: Params = {};
  for (const [name, field] of fields) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined || value === null) {
      if (field.required) throw new ValidationError(name, 'is required');
      if (field.default !== undefined) result[name] = field.default;
      else if (field.type === 'string[]' && !field.keepAbsent) result[name] = [];
      continue;
    }
    result[name] = checkValue(name, field, value);
  }
  if (!conforms<S>(fields, result)) throw new Error('validated params do not match their schema: a bug in schema.ts');
  return result;
}

/** `checkParams`, then the checks that need the host (files the sidecar must read), in field order. */
export async function validate<S extends Schema>(schema: S, input: unknown): Promise<ParamsOf<S>> {
  const { fields, hostChecked } = compiled(schema);
  const params = checkFields<S>(schema, fields, input);
  if (hostChecked) {
    const values = params as Params;
    for (const [name, field] of fields) if (field.check !== undefined) await checkHost(name, field, values[name]);
  }
  return params;
}
