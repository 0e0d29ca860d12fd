/**
 * `npm test`: every part of the suite (typecheck, the uvu tests, the module checks) runs even
 * when an earlier one fails, so one broken test never hides the others' results. Each part's
 * output streams through as it comes; a summary follows, closing on one line
 * `suite: N passed, N failed`, and the exit status is non-zero when any part failed.
 *
 *   node --import tsx spec/suite.ts [--only typecheck,uvu,module] [--match 'e2e\.test\.ts$'] [--node 22]
 *
 * `--match` narrows the uvu part to the test files matching that pattern.
 *
 * `--node MAJOR` runs the parts on that Node.js major, taken from the npm registry's `node`
 * package (see spec/node-release.ts), first on PATH so that every process a test starts uses it.
 */
import { spawn } from 'node:child_process';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nodeRelease } from './node-release.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface Part {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
}

export interface Counts {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

export type PartState = 'passed' | 'failed';

export interface PartResult {
  readonly name: string;
  readonly state: PartState;
  /** Exit status, or the signal that ended the part. */
  readonly reason: string;
  /** Test counts read from the part's own closing lines; null when it printed none. */
  readonly counts: Counts | null;
  readonly ms: number;
}

/** The parts of `npm test`, in order, for a Node.js binary and a pattern of uvu test files. */
export function suiteParts(node: string, uvuFiles = '\\.test\\.ts$'): Part[] {
  return [
    { name: 'typecheck', command: node, args: [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', '.'] },
    { name: 'uvu', command: node, args: ['--import', 'tsx', 'node_modules/uvu/bin.js', 'spec', uvuFiles, '--no-color'] },
    { name: 'module', command: 'bash', args: ['spec/module/run'] },
  ];
}

/** Test counts from uvu's "Total/Passed/Skipped" block and RSpec's "N examples, N failures" line, added up. */
export function readCounts(output: string): Counts | null {
  let found = false;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const match of output.matchAll(/^\s*Total:\s+(\d+)\s*\n\s*Passed:\s+(\d+)\s*\n\s*Skipped:\s+(\d+)\s*$/gm)) {
    const [total, ok, skip] = [Number(match[1]), Number(match[2]), Number(match[3])];
    found = true;
    passed += ok;
    skipped += skip;
    failed += total - ok - skip;
  }
  for (const match of output.matchAll(/^(\d+) examples?, (\d+) failures?(?:, (\d+) pending)?$/gm)) {
    const [examples, failures, pending] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
    found = true;
    passed += examples - failures - pending;
    failed += failures;
    skipped += pending;
  }
  return found ? { passed, failed, skipped } : null;
}

/** Kept from each part's output for its closing lines; the rest has already streamed past. */
const TAIL_BYTES = 256 * 1024;

export function runPart(part: Part, options: { cwd: string; env: NodeJS.ProcessEnv; echo: (chunk: Buffer) => void }): Promise<PartResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(part.command, part.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const take = (chunk: Buffer) => {
      options.echo(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const finish = (reason: string, ok: boolean) => {
      const counts = readCounts(tail);
      const state: PartState = ok && (counts?.failed ?? 0) === 0 ? 'passed' : 'failed';
      resolve({ name: part.name, state, reason, counts, ms: Date.now() - started });
    };
    child.on('error', (error) => finish(`could not start ${part.command}: ${error.message}`, false));
    child.on('close', (status, signal) => finish(signal ? `killed by ${signal}` : `exit ${status}`, status === 0));
  });
}

/** Runs every part in order, whatever the earlier ones did; 0 only when all passed. */
export async function runSuite(parts: readonly Part[], options: { cwd: string; env: NodeJS.ProcessEnv; echo: (chunk: Buffer) => void; announce: (part: Part) => void }): Promise<{ results: PartResult[]; status: number }> {
  const results: PartResult[] = [];
  for (const part of parts) {
    options.announce(part);
    results.push(await runPart(part, options));
  }
  return { results, status: results.every((result) => result.state === 'passed') ? 0 : 1 };
}

export function summarize(results: readonly PartResult[]): string[] {
  const lines = ['== summary'];
  let passed = 0;
  let failed = 0;
  for (const result of results) {
    const counts = result.counts;
    const told = counts ? `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped` : 'no test counts';
    lines.push(`${result.name.padEnd(10)} ${result.state.padEnd(7)} ${told}; ${result.reason}, ${(result.ms / 1000).toFixed(0)} s`);
    passed += counts?.passed ?? 0;
    // A part that failed without failing a test (a type error, a lint warning, a crash) is one failure.
    failed += result.state === 'failed' ? Math.max(counts?.failed ?? 0, 1) : 0;
  }
  lines.push(`suite: ${passed} passed, ${failed} failed`);
  return lines;
}

function versionLabel(node: string): string {
  return node === process.execPath ? process.version : node;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, match: { type: 'string' }, node: { type: 'string' } } });
  let node = process.execPath;
  const env = { ...process.env };
  if (values.node !== undefined) {
    node = await nodeRelease(values.node);
    env.PATH = `${dirname(node)}${delimiter}${env.PATH ?? ''}`;
  }
  const all = suiteParts(node, values.match);
  const only = values.only?.split(',').map((name) => name.trim()) ?? all.map((part) => part.name);
  const unknown = only.filter((name) => !all.some((part) => part.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`spec/suite.ts: --only ${JSON.stringify(values.only)}: no part named ${unknown.join(', ')} (parts: ${all.map((part) => part.name).join(', ')})\n`);
    return 2;
  }
  const { results, status } = await runSuite(
    all.filter((each) => only.includes(each.name)),
    {
      cwd: REPO,
      env,
      echo: (chunk) => process.stdout.write(chunk),
      announce: (part) => process.stdout.write(`== ${part.name} (${part.command === 'bash' ? 'bash' : `node ${versionLabel(node)}`})\n`),
    },
  );
  process.stdout.write(`\n${summarize(results).join('\n')}\n`);
  return status;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (status) => (process.exitCode = status),
    (error: unknown) => {
      process.stderr.write(`spec/suite.ts: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
