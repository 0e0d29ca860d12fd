/**
 * `npm run bench`: every benchmark of issue 7 in turn, one table each with its targets.
 * `npm run bench -- --json`: exactly one JSON object with every figure on stdout; tables
 * and progress go to stderr. `--only NAME[,NAME]` runs some of them (for development).
 */
import '../support/aws-env.ts';
import { parseArgs } from 'node:util';
import { bakeOverheadBench } from './bake-overhead.ts';
import { catalogCheckBench } from './catalog-check.ts';
import { distributeBench } from './distribute.ts';
import { publishBench } from './publish.ts';
import { fanoutBench } from './fanout.ts';
import { handoffBench } from './handoff.ts';
import { packerBench } from './packer.ts';
import { cpuNow, loadNow, machine, percentOf, stolenShare } from './machine.ts';
import { startupBench } from './startup.ts';
import { submitBench } from './submit.ts';
import { meets, renderResult, type BenchResult } from './table.ts';

type Progress = (line: string) => void;

const BENCHES: Record<string, (progress: Progress) => Promise<BenchResult>> = {
  startup: (progress) => startupBench({ progress }),
  submit: (progress) => submitBench({ progress }),
  'bake-overhead': (progress) => bakeOverheadBench({ progress }),
  distribute: (progress) => distributeBench({ progress }),
  publish: (progress) => publishBench({ progress }),
  fanout: (progress) => fanoutBench({ progress, groups: 100 }),
  'fanout-1000': (progress) => fanoutBench({ progress, groups: 1000 }),
  'catalog-check': (progress) => catalogCheckBench({ progress }),
  handoff: (progress) => handoffBench({ progress }),
  packer: (progress) => packerBench({ progress }),
};

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, only: { type: 'string' } }, strict: true });
  const names = values.only ? values.only.split(',') : Object.keys(BENCHES);
  for (const name of names) if (!BENCHES[name]) throw new Error(`no benchmark ${JSON.stringify(name)} (known: ${Object.keys(BENCHES).join(', ')})`);
  // With --json, stdout carries the JSON object alone.
  const out = (text: string) => (values.json ? process.stderr : process.stdout).write(text);
  const progress: Progress = (line) => process.stderr.write(`bench: ${line}\n`);
  out(`AutoAMI benchmarks\n${machine().join('\n')}\n\n`);
  const figures: Record<string, number> = {};
  const missed: string[] = [];
  const started = performance.now();
  const cpuAtStart = cpuNow();
  for (const name of names) {
    const result = await BENCHES[name]!(progress);
    out(`${renderResult(result)}\n`);
    for (const figure of result.figures) {
      figures[figure.key] = figure.value;
      if (!meets(figure)) missed.push(figure.key);
    }
  }
  const took = Math.round((performance.now() - started) / 1000);
  out(`${missed.length ? `targets not met: ${missed.join(', ')}` : 'every target met'} (${took} s; load average at the end: ${loadNow()}; CPU stolen by the hypervisor: ${percentOf(stolenShare(cpuAtStart, cpuNow()))})\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main(process.argv.slice(2)).then(
  // Child processes and MariaDB are stopped by their exit hooks.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
