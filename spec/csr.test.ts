import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHALLENGE_PASSWORD_OID } from '../runtime/puppet/challenge.ts';
import { CsrError, parseCsr, pemToDer, verifyCsrSignature } from '../runtime/puppet/csr.ts';
import { PP_INSTANCE_ID_OID, PP_ROLE_OID } from '../runtime/puppet/types.ts';
import { makePki, type Pki } from './support/pki.ts';

const pem = (der: Uint8Array, label = 'CERTIFICATE REQUEST') =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;

// A minimal DER writer, to build CSRs openssl would never make.
function tlv(tag: number, ...parts: (Uint8Array | number[])[]): Buffer {
  const body = Buffer.concat(parts.map((p) => Buffer.from(p)));
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
function oid(text: string): Buffer {
  const [a, b, ...rest] = text.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const septets = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) septets.unshift((v & 0x7f) | 0x80);
    bytes.push(...septets);
  }
  return tlv(0x06, bytes);
}
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s));
const extension = (id: string, value: Buffer) => tlv(0x30, oid(id), tlv(0x04, value));
function craftCsr(cn: Buffer, extensions: Buffer[], ...moreCns: Buffer[]): string {
  return craftWithAttributes(cn, [tlv(0x30, oid('1.2.840.113549.1.9.14'), tlv(0x31, tlv(0x30, ...extensions)))], ...moreCns);
}
function craftWithAttributes(cn: Buffer, attributes: Buffer[], ...moreCns: Buffer[]): string {
  const subject = tlv(0x30, ...[cn, ...moreCns].map((name) => tlv(0x31, tlv(0x30, oid('2.5.4.3'), name))));
  const spki = tlv(0x30, tlv(0x30, oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), tlv(0x03, [0, 4, ...new Array(64).fill(1)]));
  const info = tlv(0x30, tlv(0x02, [0]), subject, spki, tlv(0xa0, ...attributes));
  return pem(tlv(0x30, info, tlv(0x30, oid('1.2.840.10045.4.3.2')), tlv(0x03, [0, 1, 2, 3])));
}
/** A challengePassword attribute holding `values` as they are. */
const challenge = (...values: Buffer[]) => tlv(0x30, oid(CHALLENGE_PASSWORD_OID), tlv(0x31, ...values));
/** The ASN.1 tag of the challengePassword value in a DER CSR. */
function challengeTag(der: Uint8Array): number {
  const at = Buffer.from(der).indexOf(oid(CHALLENGE_PASSWORD_OID));
  assert.ok(at >= 0, 'no challengePassword attribute');
  const set = at + oid(CHALLENGE_PASSWORD_OID).length;
  assert.is(der[set], 0x31);
  return der[set + 2]!;
}

const throwsCsr = (fn: () => unknown, pattern: RegExp) => {
  try {
    fn();
  } catch (error) {
    assert.instance(error, CsrError, `expected CsrError, got ${String(error)}`);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable('should have thrown');
};

const Parse = suite<{ pki: Pki }>('parseCsr');
Parse.before((ctx) => {
  ctx.pki = makePki();
});

Parse('should read the CN and no extensions from a plain openssl CSR', ({ pki }) => {
  const info = parseCsr(pki.makeCsr({ certname: 'web-i-0abc.autoami' }));
  assert.is(info.subjectCommonName, 'web-i-0abc.autoami');
  assert.equal(info.extensions, {});
  assert.is(info.challengePassword, null);
});

Parse('should read challengePassword from openssl CSRs as a PrintableString and as a UTF8String', ({ pki }) => {
  const secret = '0123456789abcdef'.repeat(4);
  for (const [stringMask, tag] of [['nombstr', 0x13], ['utf8only', 0x0c]] as const) {
    const csr = pki.makeCsr({ certname: 'web-i-0abc.autoami', extensions: { [PP_INSTANCE_ID_OID]: 'i-0abc' }, challengePassword: secret, stringMask });
    assert.is(challengeTag(pemToDer(csr)), tag, stringMask);
    const info = parseCsr(csr);
    assert.equal([info.challengePassword, info.extensions[PP_INSTANCE_ID_OID]], [secret, 'i-0abc'], stringMask);
    assert.ok(verifyCsrSignature(csr));
  }
});

Parse('should read every DirectoryString form of challengePassword', () => {
  const forms: [Buffer, string][] = [
    [tlv(0x13, Buffer.from('Printable 123')), 'Printable 123'],
    [tlv(0x0c, Buffer.from('utf8 ✓')), 'utf8 ✓'],
    [tlv(0x14, Buffer.from([0x74, 0xe9])), 'té'],
    [tlv(0x1e, Buffer.from('bmp ✓', 'utf16le').swap16()), 'bmp ✓'],
    [tlv(0x1c, Buffer.from([0, 0, 0, 0x75, 0, 1, 0xf5, 0x11])), 'u🔑'],
    [tlv(0x16, Buffer.from('ia5@x')), 'ia5@x'],
  ];
  for (const [value, text] of forms) assert.is(parseCsr(craftWithAttributes(utf8('n'), [challenge(value)])).challengePassword, text);
});

Parse('should refuse a challengePassword given twice, with no or two values, or not a string', () => {
  const one = tlv(0x13, Buffer.from('secret-one'));
  const two = tlv(0x13, Buffer.from('secret-two'));
  throwsCsr(() => parseCsr(craftWithAttributes(utf8('n'), [challenge(one), challenge(two)])), /^malformed CSR: challengePassword is given twice$/);
  throwsCsr(() => parseCsr(craftWithAttributes(utf8('n'), [challenge(one, two)])), /challengePassword has more than one value$/);
  throwsCsr(() => parseCsr(craftWithAttributes(utf8('n'), [challenge()])), /challengePassword has no value$/);
  throwsCsr(() => parseCsr(craftWithAttributes(utf8('n'), [challenge(tlv(0x02, [7]))])), /challengePassword is not a string \(tag 0x02\)$/);
  throwsCsr(() => parseCsr(craftWithAttributes(utf8('n'), [challenge(tlv(0x1c, [0, 0, 0xd8, 0]))])), /invalid UniversalString/);
  throwsCsr(() => parseCsr(craftWithAttributes(utf8('n'), [challenge(tlv(0x0c, [0xff]))])), /invalid UTF8String/);
  // Whatever went wrong, a value that could be a secret is never part of the message.
  for (const text of [craftWithAttributes(utf8('n'), [challenge(one), challenge(two)]), craftWithAttributes(utf8('n'), [challenge(one, two)])]) {
    try {
      parseCsr(text);
    } catch (error) {
      assert.not.match((error as Error).message, /secret-/);
    }
  }
});

Parse('should read pp_instance_id and pp_role from UTF8String and PrintableString values', ({ pki }) => {
  const csr = pki.makeCsr({
    certname: 'wordpress-i-0123456789abcdef0.autoami',
    extensions: { [PP_INSTANCE_ID_OID]: 'i-0123456789abcdef0', [PP_ROLE_OID]: 'ASN1:PRINTABLESTRING:wordpress', '1.3.6.1.4.1.34380.1.2.1': 'ASN1:IA5STRING:x@y' },
    keyType: 'rsa',
  });
  const info = parseCsr(csr);
  assert.is(info.subjectCommonName, 'wordpress-i-0123456789abcdef0.autoami');
  assert.equal(info.extensions, { [PP_INSTANCE_ID_OID]: 'i-0123456789abcdef0', [PP_ROLE_OID]: 'wordpress', '1.3.6.1.4.1.34380.1.2.1': 'x@y' });
});

Parse('should show a non-string extension value as hex', ({ pki }) => {
  const info = parseCsr(pki.makeCsr({ certname: 'a', extensions: { '1.3.6.1.4.1.34380.1.1.99': 'ASN1:INTEGER:5' } }));
  assert.is(info.extensions['1.3.6.1.4.1.34380.1.1.99'], '020105');
});

Parse('should verify the signature of RSA and EC CSRs and reject a tampered one', ({ pki }) => {
  const rsa = pki.makeCsr({ certname: 'rsa-node', keyType: 'rsa' });
  const ec = pki.makeCsr({ certname: 'ec-node', keyType: 'ec' });
  assert.ok(verifyCsrSignature(rsa));
  assert.ok(verifyCsrSignature(ec));
  const der = Buffer.from(pemToDer(ec));
  const at = der.indexOf('ec-node');
  der.write('ex', at);
  assert.is(parseCsr(pem(der)).subjectCommonName, 'ex-node');
  assert.not.ok(verifyCsrSignature(pem(der)));
});

Parse('should refuse a subject with two CNs', () => {
  throwsCsr(() => parseCsr(craftCsr(utf8('web-i-1.autoami'), [], utf8('puppet.example.com'))), /more than one CN/);
});

Parse('should refuse an extension requested twice', () => {
  const twice = craftCsr(utf8('n'), [extension(PP_INSTANCE_ID_OID, utf8('i-1')), extension(PP_INSTANCE_ID_OID, utf8('i-2'))]);
  throwsCsr(() => parseCsr(twice), /requested twice/);
  assert.equal(parseCsr(craftCsr(utf8('n'), [extension(PP_INSTANCE_ID_OID, utf8('i-1'))])).extensions, { [PP_INSTANCE_ID_OID]: 'i-1' });
});

Parse('should refuse text that is not a PEM CSR', () => {
  throwsCsr(() => parseCsr('hello'), /no "-----BEGIN CERTIFICATE REQUEST-----" block/);
  throwsCsr(() => parseCsr(pem(Buffer.from('x'), 'CERTIFICATE')), /no "-----BEGIN CERTIFICATE REQUEST/);
  throwsCsr(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----'), /not base64/);
  throwsCsr(() => parseCsr(`-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(300_000)}\n-----END CERTIFICATE REQUEST-----`), /too large/);
});

Parse('should refuse truncated, garbage and over-long DER with a clear error', ({ pki }) => {
  const der = pemToDer(pki.makeCsr({ certname: 'node', extensions: { [PP_INSTANCE_ID_OID]: 'i-1' } }));
  throwsCsr(() => parseCsr(pem(der.subarray(0, der.length - 10))), /runs past the end/);
  throwsCsr(() => parseCsr(pem(der.subarray(0, 1))), /truncated/);
  throwsCsr(() => parseCsr(pem(Buffer.concat([der, Buffer.from([0])]))), /trailing bytes/);
  throwsCsr(() => parseCsr(pem(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00]))), /length 4294967295 .* runs past the end/);
  throwsCsr(() => parseCsr(pem(Buffer.from([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]))), /9-byte length is too large/);
  throwsCsr(() => parseCsr(pem(Buffer.from([0x30, 0x80, 0x00, 0x00]))), /indefinite length/);
  throwsCsr(() => parseCsr(pem(Buffer.from('this is not DER at all, just text'))), /CertificationRequest: length 104 .* runs past the end/);
  throwsCsr(() => parseCsr(pem(Buffer.from([0x04, 0x01, 0x41]))), /CertificationRequest: expected tag 0x30, got 0x04/);
  throwsCsr(() => parseCsr(craftCsr(tlv(0x0c, [0xff, 0xfe]), [])), /invalid UTF8String/);
  throwsCsr(() => parseCsr(craftCsr(tlv(0x02, [1]), [])), /CN is not a string/);
});

Parse('should answer every corrupted CSR with a result or a CsrError, never a crash', ({ pki }) => {
  const der = pemToDer(pki.makeCsr({ certname: 'fuzz', extensions: { [PP_INSTANCE_ID_OID]: 'i-1', [PP_ROLE_OID]: 'web' }, challengePassword: 'f'.repeat(64) }));
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 3000; round++) {
    const bytes = Buffer.from(der);
    for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    const text = pem(round % 5 === 0 ? bytes.subarray(0, Math.floor(random() * bytes.length) + 1) : bytes);
    for (const fn of [() => parseCsr(text), () => verifyCsrSignature(text)]) {
      try {
        fn();
      } catch (error) {
        if (!(error instanceof CsrError)) assert.unreachable(`round ${round}: ${String(error)}`);
      }
    }
  }
});

Parse.run();
