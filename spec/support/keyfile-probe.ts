/** Validates group.create params with the keyfile given as argv[2], as the sidecar's user would; prints the error or "ok". */
import { findMethod } from '../../runtime/interface/methods.ts';
import { validate } from '../../runtime/interface/schema.ts';
import { seedGroup } from './group-params.ts';

const method = findMethod('group.create');
if (!method) throw new Error('group.create is not defined');
try {
  await validate(method.params, { ...seedGroup(), keyfile: process.argv[2] });
  process.stdout.write('ok\n');
} catch (error) {
  process.stdout.write(`${error instanceof Error ? error.message : String(error)}\n`);
}
