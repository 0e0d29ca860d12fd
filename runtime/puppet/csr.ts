/**
 * Reads the parts of a PKCS#10 CSR that the signing decision rests on: the subject CN, the
 * requested extensions (Puppet's trusted facts) and the challengePassword attribute (the
 * bake's one-time secret). The bytes come from whoever asked for a certificate, so every
 * length is checked against what is left before it is used.
 */
import { createPublicKey, verify } from 'node:crypto';
import { AutoamiError, ErrorCode } from '../errors.ts';
import { CHALLENGE_PASSWORD_OID } from './challenge.ts';
import type { CsrInfo } from './types.ts';

export class CsrError extends AutoamiError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.InvalidParams, `malformed CSR: ${message}`, { cause, data: { field: 'csr' } });
  }
}

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const BOOLEAN = 0x01;
const ATTRIBUTES = 0xa0; // [0] IMPLICIT SET OF Attribute

const OID_COMMON_NAME = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
// A real CSR is a few KiB; anything far larger is refused before decoding.
const MAX_PEM_CHARS = 256 * 1024;

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly body: number;
  readonly end: number;
}

class DerReader {
  private pos: number;
  constructor(private readonly buf: Uint8Array, start: number, private readonly end: number) {
    this.pos = start;
  }

  static inside(buf: Uint8Array, tlv: Tlv): DerReader {
    return new DerReader(buf, tlv.body, tlv.end);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  next(what: string): Tlv {
    const { buf, end } = this;
    const start = this.pos;
    if (end - start < 2) throw new CsrError(`${what}: truncated at byte ${start}`);
    const tag = buf[start]!;
    if ((tag & 0x1f) === 0x1f) throw new CsrError(`${what}: multi-byte tag at byte ${start}`);
    let length = buf[start + 1]!;
    let body = start + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0) throw new CsrError(`${what}: indefinite length is not DER (byte ${start})`);
      if (count > 4) throw new CsrError(`${what}: a ${count}-byte length is too large (byte ${start})`);
      if (end - body < count) throw new CsrError(`${what}: truncated length at byte ${start}`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + buf[body + i]!;
      body += count;
    }
    if (length > end - body) throw new CsrError(`${what}: length ${length} at byte ${start} runs past the end (${end - body} bytes left)`);
    this.pos = body + length;
    return { tag, start, body, end: body + length };
  }

  expect(tag: number, what: string): Tlv {
    const tlv = this.next(what);
    if (tlv.tag !== tag) throw new CsrError(`${what}: expected tag 0x${hex(tag)}, got 0x${hex(tlv.tag)} at byte ${tlv.start}`);
    return tlv;
  }
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

function oidText(buf: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== OID) throw new CsrError(`expected an OID at byte ${tlv.start}`);
  if (tlv.end === tlv.body) throw new CsrError(`empty OID at byte ${tlv.start}`);
  const arcs: number[] = [];
  let value = 0;
  for (let i = tlv.body; i < tlv.end; i++) {
    const byte = buf[i]!;
    if (value > 2 ** 45) throw new CsrError(`OID arc too large at byte ${tlv.start}`);
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    } else if (i === tlv.end - 1) throw new CsrError(`OID ends mid-arc at byte ${tlv.start}`);
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of an ASN.1 string type, or null when the value is not a string. */
function stringText(buf: Uint8Array, tlv: Tlv): string | null {
  const bytes = buf.subarray(tlv.body, tlv.end);
  const bad = (kind: string) => new CsrError(`invalid ${kind} at byte ${tlv.start}`);
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      try {
        return utf8.decode(bytes);
      } catch (error) {
        throw new CsrError(`invalid UTF8String at byte ${tlv.start}`, error);
      }
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      if (bytes.some((b) => b > 0x7f)) throw bad('ASCII string');
      return Buffer.from(bytes).toString('latin1');
    case 0x14: // TeletexString: treated as Latin-1, as OpenSSL does
      return Buffer.from(bytes).toString('latin1');
    case 0x1e: // BMPString: UTF-16BE
      if (bytes.length % 2) throw bad('BMPString');
      return Buffer.from(bytes).swap16().toString('utf16le');
    case 0x1c: {
      // UniversalString: UCS-4 big-endian, the last DirectoryString choice.
      if (bytes.length % 4) throw bad('UniversalString');
      let text = '';
      for (let i = 0; i < bytes.length; i += 4) {
        const code = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw bad('UniversalString');
        text += String.fromCodePoint(code);
      }
      return text;
    }
    default:
      return null;
  }
}

/** extnValue holds DER; Puppet's trusted facts wrap a string, anything else is shown as hex. */
function extensionText(buf: Uint8Array, value: Tlv): string {
  const raw = () => Buffer.from(buf.subarray(value.body, value.end)).toString('hex');
  let tlv: Tlv;
  try {
    const inner = new DerReader(buf, value.body, value.end);
    tlv = inner.next('extension value');
    if (!inner.done) return raw();
  } catch {
    return raw();
  }
  return stringText(buf, tlv) ?? raw();
}

export function pemToDer(pem: string): Uint8Array {
  if (typeof pem !== 'string') throw new CsrError('expected PEM text');
  if (pem.length > MAX_PEM_CHARS) throw new CsrError(`${pem.length} characters is too large for a CSR`);
  const match = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([^-]*)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!match) throw new CsrError('no "-----BEGIN CERTIFICATE REQUEST-----" block');
  const body = match[1]!.replace(/\s+/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new CsrError('the PEM body is not base64');
  return Buffer.from(body, 'base64');
}

interface ParsedCsr extends CsrInfo {
  readonly der: Uint8Array;
  readonly info: Tlv;
  readonly publicKey: Tlv;
  readonly signatureAlgorithm: string;
  readonly signature: Tlv;
}

function parse(pem: string): ParsedCsr {
  const der = pemToDer(pem);
  const top = new DerReader(der, 0, der.length);
  const csr = top.expect(SEQUENCE, 'CertificationRequest');
  if (!top.done) throw new CsrError('trailing bytes after the CSR');
  const outer = DerReader.inside(der, csr);
  const info = outer.expect(SEQUENCE, 'certificationRequestInfo');
  const algorithm = DerReader.inside(der, outer.expect(SEQUENCE, 'signatureAlgorithm'));
  const signature = outer.expect(BIT_STRING, 'signature');
  const fields = DerReader.inside(der, info);
  fields.expect(INTEGER, 'version');
  const subject = DerReader.inside(der, fields.expect(SEQUENCE, 'subject'));
  const publicKey = fields.expect(SEQUENCE, 'subjectPKInfo');
  let subjectCommonName: string | null = null;
  while (!subject.done) {
    const rdn = DerReader.inside(der, subject.expect(SET, 'subject RDN'));
    while (!rdn.done) {
      const pair = DerReader.inside(der, rdn.expect(SEQUENCE, 'subject attribute'));
      const type = oidText(der, pair.next('subject attribute type'));
      const value = pair.next('subject attribute value');
      if (type !== OID_COMMON_NAME) continue;
      // As with extensions, two CNs could mean one name to us and another to Puppet.
      if (subjectCommonName !== null) throw new CsrError('the subject has more than one CN');
      subjectCommonName = stringText(der, value);
      if (subjectCommonName === null) throw new CsrError('the subject CN is not a string');
    }
  }
  const extensions = new Map<string, string>();
  let challengePassword: string | null = null;
  const attributes = fields.done ? null : DerReader.inside(der, fields.expect(ATTRIBUTES, 'attributes'));
  while (attributes && !attributes.done) {
    const attribute = DerReader.inside(der, attributes.expect(SEQUENCE, 'attribute'));
    const type = oidText(der, attribute.next('attribute type'));
    const values = DerReader.inside(der, attribute.expect(SET, 'attribute values'));
    if (type === CHALLENGE_PASSWORD_OID) {
      // SINGLE VALUE (PKCS#9): like a doubled extension, two would leave "which one?" open.
      if (challengePassword !== null) throw new CsrError('challengePassword is given twice');
      if (values.done) throw new CsrError('challengePassword has no value');
      const value = values.next('challengePassword value');
      if (!values.done) throw new CsrError('challengePassword has more than one value');
      // A DirectoryString; its text is compared, never shown: it may be a secret.
      challengePassword = stringText(der, value);
      if (challengePassword === null) throw new CsrError(`challengePassword is not a string (tag 0x${hex(value.tag)})`);
      continue;
    }
    if (type !== OID_EXTENSION_REQUEST) continue;
    while (!values.done) {
      const list = DerReader.inside(der, values.expect(SEQUENCE, 'extension request'));
      while (!list.done) {
        const extension = DerReader.inside(der, list.expect(SEQUENCE, 'extension'));
        const id = oidText(der, extension.next('extension id'));
        let value = extension.next(`extension ${id}`);
        if (value.tag === BOOLEAN) value = extension.next(`extension ${id}`);
        if (value.tag !== OCTET_STRING) throw new CsrError(`extension ${id}: extnValue is not an OCTET STRING`);
        // Two values for one OID would let a CSR show one pp_instance_id to us and another to Puppet.
        if (extensions.has(id)) throw new CsrError(`extension ${id} is requested twice`);
        extensions.set(id, extensionText(der, value));
      }
    }
  }
  const signatureAlgorithm = oidText(der, algorithm.next('signature algorithm'));
  return { subjectCommonName, extensions: Object.fromEntries(extensions), challengePassword, der, info, publicKey, signatureAlgorithm, signature };
}

export function parseCsr(pem: string): CsrInfo {
  const { subjectCommonName, extensions, challengePassword } = parse(pem);
  return { subjectCommonName, extensions, challengePassword };
}

// Algorithms Puppet agents sign CSRs with (RSA or EC keys); null: the key type fixes the hash.
const SIGNATURE_HASHES: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

/** True when the CSR is signed by the key it carries: its sender holds that private key. */
export function verifyCsrSignature(pem: string): boolean {
  const csr = parse(pem);
  const hash = SIGNATURE_HASHES[csr.signatureAlgorithm];
  if (hash === undefined) throw new CsrError(`unsupported signature algorithm ${csr.signatureAlgorithm}`);
  const { der, signature } = csr;
  if (signature.end === signature.body || der[signature.body] !== 0) throw new CsrError('the signature BIT STRING has unused bits');
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(der.subarray(csr.publicKey.start, csr.publicKey.end)), format: 'der', type: 'spki' });
  } catch (error) {
    throw new CsrError(`the public key cannot be read (${(error as Error).message})`, error);
  }
  try {
    return verify(hash, der.subarray(csr.info.start, csr.info.end), key, der.subarray(signature.body + 1, signature.end));
  } catch {
    return false;
  }
}
