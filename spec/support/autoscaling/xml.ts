import { escapeXml } from '../ec2/wire.ts';

export const AUTOSCALING_NAMESPACE = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

export type AsgXmlValue = string | number | boolean | Date | undefined | null | AsgXmlValue[] | AsgXmlObject;
export interface AsgXmlObject {
  [element: string]: AsgXmlValue;
}

function renderValue(name: string, value: AsgXmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    // An empty list is still sent, so the SDK hands callers [] rather than undefined.
    out.push(`<${name}>`);
    for (const item of value) renderValue('member', item, out);
    out.push(`</${name}>`);
  } else if (value instanceof Date) {
    out.push(`<${name}>${value.toISOString()}</${name}>`);
  } else if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [key, child] of Object.entries(value)) renderValue(key, child, out);
    out.push(`</${name}>`);
  } else {
    out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
  }
}

/** `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`; arrays become `<member>` lists. */
export function renderAsgResponse(action: string, requestId: string, result: AsgXmlObject): string {
  const out = [`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${AUTOSCALING_NAMESPACE}">`];
  renderValue(`${action}Result`, result, out);
  out.push('<ResponseMetadata>');
  renderValue('RequestId', requestId, out);
  out.push(`</ResponseMetadata></${action}Response>`);
  return out.join('');
}

export function renderAsgError(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  const out = [`<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${AUTOSCALING_NAMESPACE}"><Error>`];
  renderValue('Type', type, out);
  renderValue('Code', code, out);
  renderValue('Message', message, out);
  out.push('</Error>');
  renderValue('RequestId', requestId, out);
  out.push('</ErrorResponse>');
  return out.join('');
}
