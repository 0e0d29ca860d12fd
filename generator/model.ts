/**
 * Definitions → the typed model the templates read. Every decision (flag spelling, block
 * parameters, help text) is made here, so templates only place values.
 */
import { faces as allFaces, type ActionDef, type FaceDef } from '../runtime/interface/faces.ts';
import { PROTOCOL_VERSION, findMethod } from '../runtime/interface/methods.ts';
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
}

export interface ClientModel {
  readonly protocol: number;
  /** Seconds the report processor gives the sidecar before spooling: the master must not wait. */
  readonly submitTimeout: number;
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
  };
}

export function models(faces: readonly FaceDef[] = allFaces): { faces: FaceModel[]; client: ClientModel } {
  return { faces: faces.map(faceModel), client: { protocol: PROTOCOL_VERSION, submitTimeout: 2 } };
}
