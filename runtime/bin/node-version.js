// The oldest Node.js the sidecar runs on is the one package.json's engines.node names. It is
// checked before anything else loads: on an older Node the sidecar would fail later, at some
// syntax or API it lacks, with an error that does not say why.
import { existsSync, readFileSync } from 'node:fs';

/** The lowest version an `engines.node` range of the form ">=N[.M[.P]]" allows, as [N, M, P]. */
export function minimumNode(range) {
  const match = /^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range ?? '');
  if (!match) throw new Error(`package.json engines.node ${JSON.stringify(range)}: expected ">=N[.M[.P]]"`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

/** One line naming the version found and the one needed, or null when `found` (like "v20.1.0") is new enough. */
export function nodeVersionProblem(found, range) {
  const needed = minimumNode(range);
  const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(found)?.slice(1).map(Number) ?? [0, 0, 0];
  for (let i = 0; i < 3; i += 1) {
    if (have[i] > needed[i]) return null;
    if (have[i] < needed[i]) return `autoami: Node.js ${found} is too old: AutoAMI needs Node.js ${needed.join('.')} or later (engines.node ${range.trim()})`;
  }
  return null;
}

/**
 * What both commands do first: refuse an older Node.js in one line, then load their code:
 * the bundle `npm run build` wrote beside this file in an installed module, else (in the
 * repository) the TypeScript source through tsx.
 */
export async function loadEntry(bundle, source) {
  // package.json sits two levels up both in the repository and in the built module's files/sidecar.
  const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const problem = nodeVersionProblem(process.version, engines?.node);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  if (existsSync(bundle)) return import(bundle.href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(source.href);
}
