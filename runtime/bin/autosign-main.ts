/**
 * The policy-autosign command (puppet.conf `autosign = <install_dir>/bin/autoami-autosign`,
 * a wrapper the class writes that runs runtime/bin/autoami-autosign.js): Puppet Server runs
 * it with the certname as its only argument and the CSR on stdin, and signs on exit 0.
 * `npm run build` bundles this on its own (files/sidecar/runtime/autosign.js), so a CSR
 * does not load the whole sidecar.
 */
import { autosignCommand } from '../methods/autosign.ts';
import { resolveConfigPath } from '../config.ts';

export async function main(argv: readonly string[]): Promise<number> {
  let config: string | undefined;
  let certname: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--config' && argv[index + 1] !== undefined) config = argv[++index];
    else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else if (!arg.startsWith('-') && certname === undefined) certname = arg;
    else {
      process.stderr.write(`autoami autosign: unknown argument ${JSON.stringify(arg)} (usage: autoami-autosign CERTNAME [--config FILE], CSR on stdin)\n`);
      return 2;
    }
  }
  let file: string;
  try {
    file = await resolveConfigPath(config);
  } catch (error) {
    process.stderr.write(`autoami autosign: not signing ${certname ?? '(no certname)'}: ${(error as Error).message}\n`);
    return 1;
  }
  return autosignCommand(file, certname);
}
