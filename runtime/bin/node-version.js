// The oldest Node.js the sidecar runs on is the one package.json's engines.node names. It is
// checked before anything else loads: on an older Node the sidecar would fail later, at some
// syntax or API it lacks, with an error that does not say why.

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
