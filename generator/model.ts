/**
 * Definitions → the typed model the templates read. Every decision (flag spelling, block
 * parameters, help text) is made here, so templates only place values.
 */
import { faces as allFaces, type ActionDef, type FaceDef } from '../runtime/interface/faces.ts';
import { PROTOCOL_VERSION, REPORT_FACTS_MAX, findMethod } from '../runtime/interface/methods.ts';
import { PUPPET_TYPES, rubyPattern, type PuppetTypeDef } from '../runtime/interface/patterns.ts';
import type { FieldDef } from '../runtime/interface/schema.ts';

export interface OptionModel {
  /** Puppet's option declaration, e.g. `--enc-user U` or `--wait`. */
  readonly declaration: string;
  readonly summary: string;
}

/** What the Ruby shim needs at run time; emitted as JSON so no template logic builds it. */
export interface ActionSpec {
  readonly face: string;
  readonly action: string;
  readonly method: string;
  readonly positional: readonly string[];
  readonly options: readonly { field: string; flag: string; type: FieldDef['type'] }[];
  /** Params read from Puppet settings (Puppet owns their flags). */
  readonly settings: readonly { field: string; setting: string }[];
  readonly render: ActionDef['render'];
}

export interface ActionModel {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly arguments: string;
  readonly hasArguments: boolean;
  readonly examples: string;
  readonly options: readonly OptionModel[];
  /** `name, options` — the when_invoked block's parameters. */
  readonly blockParams: string;
  /** `name` — the positional values passed on to the shim, in order. */
  readonly argumentList: string;
  readonly spec: ActionSpec;
}

export interface FaceModel {
  readonly name: string;
  readonly className: string;
  readonly version: string;
  readonly summary: string;
  readonly description: string;
  readonly actions: readonly ActionModel[];
  /** Actions rendered inside the face file; empty when each has a file of its own. */
  readonly inlineActions: readonly ActionModel[];
  /** Actions rendered as lib/puppet/face/<face>/<action>.rb, so they can join another module's face. */
  readonly separateActions: readonly ActionModel[];
  /** The list options of every action, as Puppet names their handlers (`kms_key`), space-separated. */
  readonly listOptions: string;
}

/** The values the hand-written Ruby in lib/puppet_x/autoami/ shares with the sidecar. */
export interface ConstantsModel {
  readonly protocol: number;
  /** Seconds the report processor gives the sidecar before spooling: the master must not wait. */
  readonly submitTimeout: number;
  /** Ruby regexp source for a bake instance's certname. */
  readonly certname: string;
  /** The longest facts JSON a report may carry. */
  readonly factsMax: number;
}

export interface PuppetTypeModel {
  /** `Autoami::Duration`. */
  readonly name: string;
  /** types/duration.pp: Puppet finds an alias by its name's last segment, down-cased. */
  readonly file: string;
  /** The summary's lines, wrapped for a `#   ` comment. */
  readonly summary: readonly string[];
  /** Ruby regexp source, which is what Puppet's Pattern takes. */
  readonly pattern: string;
}

export const flagOf = (field: string): string => `--${field.replace(/_/g, '-')}`;

function optionSummary(field: FieldDef): string {
  const notes: string[] = [];
  if (field.required) notes.push('required');
  if (field.default !== undefined) notes.push(`default: ${String(field.default)}`);
  return notes.length === 0 ? field.summary : `${field.summary} (${notes.join('; ')})`;
}

function actionModel(face: FaceDef, action: ActionDef): ActionModel {
  const method = findMethod(action.method);
  if (!method) throw new Error(`${face.name} ${action.name}: unknown method ${action.method}`);
  for (const name of action.positional) {
    if (!method.params[name]) throw new Error(`${face.name} ${action.name}: positional ${name} is not a parameter of ${method.name}`);
  }
  const params = Object.entries(method.params).filter(([name]) => !action.positional.includes(name));
  const optionFields = params.filter(([, field]) => field.puppetSetting === undefined);
  const settingFields = params.filter(([, field]) => field.puppetSetting !== undefined);
  const options = optionFields.map(([name, field]) => ({
    declaration: field.type === 'boolean' ? flagOf(name) : `${flagOf(name)} ${field.placeholder ?? name.toUpperCase()}`,
    summary: optionSummary(field),
  }));
  return {
      name: action.name,
      summary: action.summary,
      description: action.description,
      arguments: action.positional.map((name) => method.params[name]!.placeholder ?? name.toUpperCase()).join(' '),
      hasArguments: action.positional.length > 0,
      examples: action.examples.map((line) => `  $ ${line}`).join('\n'),
      options,
      blockParams: [...action.positional, 'options'].join(', '),
      argumentList: action.positional.join(', '),
      spec: {
        face: face.name,
        action: action.name,
        method: method.name,
        positional: action.positional,
        options: optionFields.map(([name, field]) => ({ field: name, flag: flagOf(name), type: field.type })),
        settings: settingFields.map(([name, field]) => ({ field: name, setting: field.puppetSetting! })),
        render: action.render,
      },
  };
}

export function faceModel(face: FaceDef): FaceModel {
  const actions = face.actions.map((action) => actionModel(face, action));
  return {
    name: face.name,
    className: face.name
      .split('_')
      .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
      .join(''),
    version: face.version,
    summary: face.summary,
    description: face.description,
    actions,
    inlineActions: face.separateActionFiles ? [] : actions,
    separateActions: face.separateActionFiles ? actions : [],
    listOptions: [...new Set(actions.flatMap((action) => action.spec.options.filter((option) => option.type === 'string[]').map((option) => option.flag.slice(2).replace(/-/g, '_'))))].join(' '),
  };
}

/** Comment lines stay within 90 columns, as the hand-written manifests' do. */
const SUMMARY_WIDTH = 90 - '#   '.length;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

export function puppetTypeModel(type: PuppetTypeDef): PuppetTypeModel {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(type.name)) throw new Error(`Puppet type ${type.name}: not a capitalized name segment`);
  return {
    name: `Autoami::${type.name}`,
    file: `types/${type.name.toLowerCase()}.pp`,
    summary: wrap(type.summary, SUMMARY_WIDTH),
    pattern: rubyPattern(type.pattern),
  };
}

export interface Models {
  readonly faces: FaceModel[];
  readonly constants: ConstantsModel;
  readonly types: PuppetTypeModel[];
}

export function models(faces: readonly FaceDef[] = allFaces, types: readonly PuppetTypeDef[] = PUPPET_TYPES): Models {
  return {
    faces: faces.map(faceModel),
    constants: { protocol: PROTOCOL_VERSION, submitTimeout: 2, certname: rubyPattern('certname'), factsMax: REPORT_FACTS_MAX },
    types: types.map(puppetTypeModel),
  };
}
