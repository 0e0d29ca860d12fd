/**
 * What spec/acceptance/master.ts takes from the README (the class declaration, the
 * new_group command, the auth.conf rules) and reads from the master's outputs, as pure
 * functions (spec/acceptance/readme.test.ts checks them against the README without a master).
 */

/**
 * The body of the first fenced code block under the heading `title` (any level, up to the
 * next heading of the same or a higher level) for which `accept(language, body)` holds.
 */
export function codeBlock(readme: string, title: string, accept: (language: string, body: string) => boolean = () => true): string | undefined {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, '').trim() === title);
  if (start < 0) return undefined;
  const level = /^#+/.exec(lines[start]!)![0].length;
  for (let i = start + 1; i < lines.length; i++) {
    const heading = /^(#{1,6}) /.exec(lines[i]!);
    if (heading && heading[1]!.length <= level) return undefined;
    const fence = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    if (end < 0) return undefined;
    const body = lines.slice(i + 1, end).join('\n');
    if (accept(fence[1]!, body)) return body;
    i = end;
  }
  return undefined;
}

/** README "Install on a Puppet master": the ```puppet block that declares class autoami. */
export function readmeClassBlock(readme: string): string | undefined {
  return codeBlock(readme, 'Install on a Puppet master', (language, body) => language === 'puppet' && /class \{ 'autoami':/.test(body));
}

/** README "On the master": the auth.conf (HOCON) rules for the master's certificate. */
export function readmeAuthRules(readme: string): string | undefined {
  return codeBlock(readme, 'On the master', (language, body) => language === '' && body.trimStart().startsWith('{') && body.includes('match-request'));
}

/** README "On the master": the auth.conf rule that lets the master compile catalogs for the catalog check. */
export function readmeCatalogRule(readme: string): string | undefined {
  return codeBlock(readme, 'On the master', (language, body) => language === '' && body.includes('match-request') && body.includes('/puppet/v4/catalog'));
}

/**
 * `block` with `extra` parameters added to its `class { 'NAME': ... }` declaration (a
 * parameter the block already gives is left as the block gives it).
 */
export function classDeclaration(block: string, name: string, extra: Record<string, string>): string {
  const opening = block.indexOf(`class { '${name}':`);
  if (opening < 0) throw new Error(`no class { '${name}': in\n${block}`);
  let depth = 0;
  let close = -1;
  for (let i = block.indexOf('{', opening); i < block.length; i++) {
    if (block[i] === '{') depth++;
    else if (block[i] === '}' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close < 0) throw new Error(`class { '${name}': is not closed in\n${block}`);
  const body = block.slice(opening, close);
  const added = Object.entries(extra).filter(([param]) => !new RegExp(`^\\s*${param}\\s*=>`, 'm').test(body));
  if (added.length === 0) return block.endsWith('\n') ? block : `${block}\n`;
  const width = Math.max(...added.map(([param]) => param.length), ...[...body.matchAll(/^\s*(\w+)\s*=>/gm)].map((m) => m[1]!.length));
  let before = block.slice(0, close).trimEnd();
  if (!before.endsWith(',') && !before.endsWith(':')) before += ',';
  const lines = added.map(([param, value]) => `  ${param.padEnd(width)} => ${value},`);
  const result = `${before}\n${lines.join('\n')}\n${block.slice(close)}`;
  return result.endsWith('\n') ? result : `${result}\n`;
}

/**
 * The parameters of `class autoami (...)` in init.pp, each with its default as written
 * (`'pe'`, `true`, `undef`), or, without one there, its value in the module's
 * data/common.yaml; undefined when neither gives one.
 */
export function classParameters(initPp: string, commonYaml = ''): Map<string, string | undefined> {
  const params = new Map<string, string | undefined>();
  const open = /^class autoami\s*\(/m.exec(initPp);
  if (!open) return params;
  const close = initPp.indexOf('\n) {', open.index);
  const list = initPp.slice(open.index + open[0].length, close < 0 ? undefined : close);
  for (const line of list.split('\n')) {
    const param = /(?:^|\s)\$(\w+)(?:\s*=\s*(.*?))?,?\s*$/.exec(line.replace(/\s+#.*$/, ''));
    if (!param) continue;
    let value = param[2];
    if (value === undefined) {
      const data = new RegExp(`^autoami::${param[1]}:\\s*(.+?)\\s*$`, 'm').exec(commonYaml);
      value = data?.[1];
    }
    params.set(param[1]!, value);
  }
  return params;
}

/** README "Commands": the `puppet autoami new_group ...` command, its words, group and keyfile. */
export function newGroupCommand(readme: string): { argv: string[]; group: string; keyfile: string } | undefined {
  const block = codeBlock(readme, 'Commands', (_, body) => /^puppet autoami new_group /m.test(body));
  if (!block) return undefined;
  const lines = block.split('\n');
  const start = lines.findIndex((line) => line.startsWith('puppet autoami new_group '));
  let command = '';
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!.replace(/\s+#.*$/, '');
    command += ` ${line.replace(/\\\s*$/, '')}`;
    if (!/\\\s*$/.test(line)) break;
  }
  const argv = command.trim().split(/\s+/);
  const keyfile = argv[argv.indexOf('--keyfile') + 1];
  const group = argv.at(-1);
  if (!keyfile || argv.indexOf('--keyfile') < 0 || !group || group.startsWith('-')) return undefined;
  return { argv, group, keyfile };
}

/** The `GROUP: done (i-... OUTCOME [ami-...])` line `puppet autoami run --wait` prints. */
export function bakeDoneLine(output: string, group: string): { line: string; instance: string; outcome: string; image?: string } | undefined {
  const escaped = group.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped}: done \\((i-[0-9a-f]+) (\\w+)(?: (ami-[0-9a-f]+))?\\).*$`, 'm').exec(output);
  if (!match) return undefined;
  return { line: match[0], instance: match[1]!, outcome: match[2]!, image: match[3] };
}

/** `systemd-analyze security UNIT`'s overall exposure level. */
export function overallExposure(output: string): number | undefined {
  const match = /Overall exposure level for \S+: ([0-9]+(?:\.[0-9]+)?)/.exec(output);
  return match ? Number(match[1]) : undefined;
}

/** The samples of a Prometheus text exposition. */
export function metricSamples(text: string): { name: string; labels: string; value: number; line: string }[] {
  const samples: { name: string; labels: string; value: number; line: string }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (match) samples.push({ name: match[1]!, labels: match[2] ?? '', value: Number(match[3]), line });
  }
  return samples;
}

/** README "Commands": the shell command that installs the keyfile (`install ... deploy.pem ...`). */
export function keyfileInstall(readme: string): string | undefined {
  const section = readme.slice(readme.indexOf('\n## Commands')).replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');
  for (const match of section.matchAll(/`([^`]+)`/g)) {
    const command = match[1]!.replace(/\s*\n\s*/g, ' ');
    if (/^install -d\b/.test(command) && /\bdeploy\.pem\b/.test(command)) return command;
  }
  return undefined;
}

/** README "Install on a Puppet master": the offline `puppet module install --ignore-dependencies pkg/....tar.gz` line, as words. */
export function moduleInstallCommand(readme: string): string[] | undefined {
  const block = codeBlock(readme, 'Install on a Puppet master', (_, body) => /^puppet module install .*--ignore-dependencies/m.test(body));
  const line = block?.split('\n').find((each) => /^puppet module install .*--ignore-dependencies/.test(each));
  const argv = line?.replace(/\s+#.*$/, '').trim().split(/\s+/);
  return argv?.some((word) => /^pkg\/.*\.tar\.gz$/.test(word)) ? argv : undefined;
}
