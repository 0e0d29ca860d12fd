import { invalidValue, missingParameter } from './errors.ts';

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

interface ParamNode {
  value?: string;
  children: Map<string, ParamNode>;
}

/**
 * The EC2 query protocol flattens structures and lists into dotted keys
 * (`TagSpecification.1.Tag.2.Key`). Params rebuilds the tree so handlers read
 * `p.list('TagSpecification')[0].list('Tag')` instead of string-matching keys.
 */
export class Params {
  private readonly node: ParamNode;

  constructor(node: ParamNode) {
    this.node = node;
  }

  static parse(body: string): Params {
    const root: ParamNode = { children: new Map() };
    for (const [key, value] of new URLSearchParams(body)) {
      let node = root;
      for (const segment of key.split('.')) {
        let child = node.children.get(segment);
        if (!child) {
          child = { children: new Map() };
          node.children.set(segment, child);
        }
        node = child;
      }
      node.value = value;
    }
    return new Params(root);
  }

  private at(path: string): ParamNode | undefined {
    let node: ParamNode | undefined = this.node;
    for (const segment of path.split('.')) node = node?.children.get(segment);
    return node;
  }

  has(path: string): boolean {
    return this.at(path) !== undefined;
  }

  str(path: string): string | undefined {
    return this.at(path)?.value;
  }

  req(path: string): string {
    const value = this.str(path);
    if (value === undefined || value === '') throw missingParameter(path);
    return value;
  }

  int(path: string): number | undefined {
    const raw = this.str(path);
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw)) throw invalidValue(path, raw, 'not an integer');
    return Number(raw);
  }

  bool(path: string): boolean | undefined {
    const raw = this.str(path);
    if (raw === undefined) return undefined;
    if (raw !== 'true' && raw !== 'false') throw invalidValue(path, raw, 'expecting true or false');
    return raw === 'true';
  }

  sub(path: string): Params | undefined {
    const node = this.at(path);
    return node ? new Params(node) : undefined;
  }

  /** `Name.1`, `Name.2`, ... in index order; gaps are tolerated as EC2 does. */
  list(path: string): Params[] {
    const node = this.at(path);
    if (!node) return [];
    return [...node.children.entries()]
      .filter(([key]) => /^\d+$/.test(key))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, child]) => new Params(child));
  }

  strings(path: string): string[] {
    return this.list(path).flatMap((p) => (p.node.value === undefined ? [] : [p.node.value]));
  }

  /** Order-independent identity of a request, for ClientToken idempotency checks. */
  fingerprint(ignore: readonly string[] = ['Action', 'Version', 'ClientToken']): string {
    const pairs: string[] = [];
    const walk = (node: ParamNode, prefix: string): void => {
      if (node.value !== undefined && !ignore.includes(prefix)) pairs.push(`${prefix}=${node.value}`);
      for (const [key, child] of node.children) walk(child, prefix ? `${prefix}.${key}` : key);
    };
    walk(this.node, '');
    return pairs.sort().join('&');
  }
}

export type XmlValue = string | number | boolean | undefined | null | XmlValue[] | XmlObject;
export interface XmlObject {
  [element: string]: XmlValue;
}

// XML 1.0 cannot carry most C0 controls even as references; CR must be a reference or
// parsers fold it into LF. The Auto Scaling stand-in writes its XML with the same rules.
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#xD;');
}

function renderValue(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    out.push(`<${name}>`);
    for (const item of value) renderValue('item', item, out);
    out.push(`</${name}>`);
  } else if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [key, child] of Object.entries(value)) renderValue(key, child, out);
    out.push(`</${name}>`);
  } else {
    out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
  }
}

/** Arrays become `<name><item>…</item></name>`, the EC2 list convention; undefined is left out. */
export function renderResponse(action: string, requestId: string, body: XmlObject): string {
  const out = [`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NAMESPACE}">`];
  renderValue('requestId', requestId, out);
  for (const [key, value] of Object.entries(body)) renderValue(key, value, out);
  out.push(`</${action}Response>`);
  return out.join('');
}

export function renderError(code: string, message: string, requestId: string): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'];
  renderValue('Code', code, out);
  renderValue('Message', message, out);
  out.push('</Error></Errors>');
  renderValue('RequestID', requestId, out);
  out.push('</Response>');
  return out.join('');
}
