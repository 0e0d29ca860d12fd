import { Ec2Fault, invalidValue, missingParameter } from '../errors.ts';
import { newKeyMaterial } from '../key-material.ts';
import { newId, type KeyPairRecord, type KeyTypeName } from '../model.ts';
import { applyFilters, type FilterFields } from '../query.ts';
import { tagSet } from '../render.ts';
import type { XmlObject } from '../wire.ts';
import { readTagSpecs, type Handler } from './common.ts';

const KEY_FILTERS: FilterFields<KeyPairRecord> = {
  'key-name': (k) => k.keyName,
  'key-pair-id': (k) => k.keyPairId,
  fingerprint: (k) => k.fingerprint,
  'key-type': (k) => k.keyType,
};

const KEY_TYPES: readonly KeyTypeName[] = ['rsa', 'ed25519'];

function keyPairsNotFound(refs: readonly string[]): Ec2Fault {
  const message = refs.length === 1 ? `The key pair '${refs[0]}' does not exist` : `The key pairs '${refs.join(', ')}' do not exist`;
  return new Ec2Fault('InvalidKeyPair.NotFound', message);
}

function keyPairXml(k: KeyPairRecord, includePublicKey: boolean): XmlObject {
  return {
    keyPairId: k.keyPairId,
    keyType: k.keyType,
    tagSet: tagSet(k.tags),
    keyName: k.keyName,
    keyFingerprint: k.fingerprint,
    publicKey: includePublicKey ? k.publicKey : undefined,
    createTime: new Date(k.createdAt).toISOString(),
  };
}

/** The private key leaves EC2 once, in this reply; only its fingerprint and public half stay. */
export const createKeyPair: Handler = (p, ctx) => {
  const keyName = p.req('KeyName');
  if (keyName.length > 255 || !/^[\x20-\x7e]+$/.test(keyName)) throw invalidValue('KeyName', keyName, 'up to 255 ASCII characters');
  const keyType = (p.str('KeyType') ?? 'rsa') as KeyTypeName;
  if (!KEY_TYPES.includes(keyType)) throw invalidValue('KeyType', keyType);
  // PuTTY's format is not modelled: asking for it fails loudly instead of answering in PEM.
  const keyFormat = p.str('KeyFormat') ?? 'pem';
  if (keyFormat !== 'pem') throw invalidValue('KeyFormat', keyFormat, 'this endpoint hands out pem only');
  const tags = readTagSpecs(p, ['key-pair']).get('key-pair') ?? new Map<string, string>();
  if (ctx.state.keyPairs.has(keyName)) throw new Ec2Fault('InvalidKeyPair.Duplicate', `The keypair '${keyName}' already exists.`);
  const material = newKeyMaterial(keyType, keyName);
  const record: KeyPairRecord = {
    seq: ctx.state.nextSeq(),
    createdAt: ctx.state.clock.now(),
    keyPairId: newId('key'),
    keyName,
    keyType,
    fingerprint: material.fingerprint,
    publicKey: material.publicKey,
    tags,
  };
  ctx.state.keyPairs.set(keyName, record);
  return {
    keyName,
    keyFingerprint: record.fingerprint,
    keyMaterial: material.privateKey,
    keyPairId: record.keyPairId,
    tagSet: tags.size ? tagSet(tags) : undefined,
  };
};

/** Deleting a key pair that is not there succeeds, as on EC2: the call is safe to repeat. */
export const deleteKeyPair: Handler = (p, ctx) => {
  const keyName = p.str('KeyName');
  const keyPairId = p.str('KeyPairId');
  if (!keyName && !keyPairId) throw missingParameter('KeyName or KeyPairId');
  const record = keyName ? ctx.state.keyPairs.get(keyName) : [...ctx.state.keyPairs.values()].find((k) => k.keyPairId === keyPairId);
  if (record) ctx.state.keyPairs.delete(record.keyName);
  return { return: true, keyPairId: record?.keyPairId };
};

export const describeKeyPairs: Handler = (p, ctx) => {
  const names = p.strings('KeyName');
  const ids = p.strings('KeyPairId');
  const all = [...ctx.state.keyPairs.values()].sort((a, b) => a.seq - b.seq);
  const missing = [
    ...names.filter((name) => !ctx.state.keyPairs.has(name)),
    ...ids.filter((id) => !all.some((k) => k.keyPairId === id)),
  ];
  if (missing.length) throw keyPairsNotFound(missing);
  const chosen = names.length || ids.length ? all.filter((k) => names.includes(k.keyName) || ids.includes(k.keyPairId)) : all;
  const includePublicKey = p.bool('IncludePublicKey') ?? false;
  return { keySet: applyFilters(chosen, p, KEY_FILTERS).map((k) => keyPairXml(k, includePublicKey)) };
};
