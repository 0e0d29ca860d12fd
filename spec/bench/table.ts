/**
 * Figures and their targets, and the plain-text tables `npm run bench` prints. A figure
 * carries its target so every table (and BENCHMARKS.md) says at once whether it was met.
 */

export type Comparison = '<=' | '<' | '>=' | '==';

export interface Target {
  readonly op: Comparison;
  readonly limit: number;
}

export interface Figure {
  /** The JSON key, as issue 7 names it. */
  readonly key: string;
  readonly value: number;
  readonly unit: string;
  /** null: issue 7 sets none; the figure is context for another (a floor, the tracked ratio). */
  readonly target: Target | null;
}

export interface BenchResult {
  readonly title: string;
  readonly figures: readonly Figure[];
  /** Supporting rows (per-level rates, counts, the floor's parts), printed but not in the JSON. */
  readonly details: readonly (readonly [string, string])[];
}

export function meets(figure: Figure): boolean {
  if (figure.target === null) return true;
  const { op, limit } = figure.target;
  switch (op) {
    case '<=':
      return figure.value <= limit;
    case '<':
      return figure.value < limit;
    case '>=':
      return figure.value >= limit;
    case '==':
      return figure.value === limit;
  }
}

export const targetText = (target: Target | null): string => (target === null ? '-' : `${target.op === '==' ? '=' : target.op} ${target.limit}`);

/** Left-aligned text columns, right-aligned numbers, a rule under the header. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[-+]?[\d.,]+(?:\s?\S*)?$/.test(row[column] ?? '')));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export function renderResult(result: BenchResult): string {
  const figures = renderTable(
    ['figure', 'value', 'unit', 'target', 'met'],
    result.figures.map((figure) => [figure.key, String(figure.value), figure.unit, targetText(figure.target), figure.target === null ? '-' : meets(figure) ? 'yes' : 'NO']),
  );
  const details = result.details.length ? `\n\n${renderTable(['detail', 'value'], result.details)}` : '';
  return `${result.title}\n\n${figures}${details}\n`;
}
