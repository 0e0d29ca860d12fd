/**
 * The bootstrap script a bake instance runs (over ssh, or as EC2 user-data), rendered from a
 * strict Handlebars template whose only way to emit a value is a quoting helper.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { jsPattern, shellPattern } from '../interface/patterns.ts';
import type { BootstrapScriptInput } from './types.ts';

const DEFAULT_TEMPLATE = fileURLToPath(new URL('./templates/bootstrap.sh.hbs', import.meta.url));

const CERTNAME_SUFFIX = '.autoami';
const AUTOAMI_CERTNAME = jsPattern('certname');

export function certnameFor(group: string, instanceId: string): string {
  return `${group}-${instanceId}${CERTNAME_SUFFIX}`;
}

/** By name alone, so the report processor can drop every other node's report at once. */
export function isAutoamiCertname(name: string): boolean {
  return AUTOAMI_CERTNAME.test(name);
}

/**
 * user-data is fixed at RunInstances, before the instance id exists: the script then reads
 * the id on the instance (cloud-init's record, else IMDSv2) and derives the certname itself.
 */
export interface UserDataInput {
  readonly group: string;
  readonly server: string;
  readonly serverPort: number;
  readonly environment: string | null;
  readonly waitForCert: number;
  /** The bake's one-time secret; user-data is the only way it reaches the instance. */
  readonly challenge: string;
  readonly noop: boolean;
}

/** A single-quoted shell word: inside '…' only `'` itself is special. */
function shell(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return `'${value}'`;
  if (typeof value !== 'string') throw new Error(`shell helper expects a string or number, got ${JSON.stringify(value)}`);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A double-quoted YAML scalar on one line. Everything outside printable ASCII is escaped, since
 * Psych (YAML 1.1) would read U+0085/U+2028/U+2029 as line breaks.
 */
function yaml(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`yaml helper expects a string, got ${JSON.stringify(value)}`);
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

const KNOWN_HELPERS = { shell, yaml } as const;

/**
 * Strict mode and knownHelpersOnly still let `{{server}}` print a raw value into a shell
 * script; a group's own template gets no such hole, so every output must be a helper call.
 */
class OutputsThroughHelpers extends Handlebars.Visitor {
  override MustacheStatement(node: hbs.AST.MustacheStatement): void {
    const name = 'original' in node.path ? node.path.original : undefined;
    if (typeof name !== 'string' || !(name in KNOWN_HELPERS) || node.params.length === 0) {
      throw new Error(`line ${node.loc.start.line}: every value must go through {{shell …}} or {{yaml …}}, not {{${String(name)}}}`);
    }
    super.MustacheStatement(node);
  }
}

function compile(source: string): HandlebarsTemplateDelegate {
  new OutputsThroughHelpers().accept(Handlebars.parse(source));
  const handlebars = Handlebars.create();
  for (const [name, helper] of Object.entries(KNOWN_HELPERS)) handlebars.registerHelper(name, helper);
  const knownHelpers = Object.fromEntries(Object.keys(KNOWN_HELPERS).map((helper) => [helper, true]));
  return handlebars.compile(source, { strict: true, knownHelpers, knownHelpersOnly: true, noEscape: true });
}

/**
 * Quoting keeps values out of the shell's grammar, but puppet.conf is line-based and puppet
 * reads a leading `-` as an option: such values could still smuggle settings in.
 */
function checkValue(field: string, value: string | null): void {
  if (value === null) return;
  if (value === '') throw new Error(`bootstrap ${field} is empty`);
  if (/\p{Cc}/u.test(value)) throw new Error(`bootstrap ${field} contains a control character: ${JSON.stringify(value)}`);
  if (value.startsWith('-')) throw new Error(`bootstrap ${field} starts with "-": ${JSON.stringify(value)}`);
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`bootstrap ${field} must be an integer from ${min} to ${max}, got ${value}`);
}

interface TemplateContext {
  readonly certname: string | null;
  readonly instanceId: string | null;
  readonly role: string;
  readonly server: string;
  readonly serverPort: number;
  readonly environment: string | null;
  readonly waitForCert: number;
  /** Seconds between certificate polls; waitForCert is the total. */
  readonly certPollInterval: number;
  /** The CSR's challengePassword: the one-time secret the sidecar signs only with. */
  readonly challenge: string;
  /** For user-data, which learns its instance id on the instance and must check it there. */
  readonly instanceIdPattern: string;
  /** The verification of a new image: the agent runs in noop. */
  readonly noop: boolean;
}

function render(context: TemplateContext, templatePath: string): string {
  for (const field of ['certname', 'instanceId', 'role', 'server', 'environment'] as const) checkValue(field, context[field]);
  // Checked by shape, never shown. Letters and digits only: Puppet writes the attribute as a
  // PrintableString, and nothing in YAML or the shell can read them as anything else.
  if (typeof context.challenge !== 'string' || !/^[A-Za-z0-9]{32,255}$/.test(context.challenge)) {
    throw new Error('bootstrap challenge must be 32 to 255 letters and digits (value hidden)');
  }
  checkInteger('serverPort', context.serverPort, 1, 65535);
  checkInteger('waitForCert', context.waitForCert, 0, 86400);
  let source: string;
  try {
    source = readFileSync(templatePath, 'utf8');
  } catch (error) {
    throw new Error(`bootstrap template ${templatePath} cannot be read: ${(error as Error).message}`);
  }
  try {
    // Handlebars compiles lazily: syntax errors and unknown fields both surface here.
    return compile(source)(context);
  } catch (error) {
    throw new Error(`bootstrap template ${templatePath} is broken: ${(error as Error).message}`);
  }
}

// The sidecar signs within a tick of the request arriving; a long poll only makes the agent idle.
const pollInterval = (waitForCert: number): number => Math.min(waitForCert, 2);

const ID_PATTERN = shellPattern('instance_id');

/** The script for one known instance (ssh mode). `templatePath`: the group's own template. */
export function renderBootstrapScript(input: BootstrapScriptInput, templatePath = DEFAULT_TEMPLATE): string {
  return render({ ...input, certPollInterval: pollInterval(input.waitForCert), instanceIdPattern: ID_PATTERN }, templatePath);
}

/** user-data mode: the same template; cloud-init runs any user-data that starts with `#!`. */
export function userDataFor(input: UserDataInput, templatePath = DEFAULT_TEMPLATE): string {
  const { group, ...rest } = input;
  const ids = { certname: null, instanceId: null, instanceIdPattern: ID_PATTERN };
  return render({ ...rest, ...ids, role: group, certPollInterval: pollInterval(input.waitForCert) }, templatePath);
}
