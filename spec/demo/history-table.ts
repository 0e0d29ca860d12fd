/** `group.history` rows as a plain table, newest first, as `puppet autoami history` lists them. */
import type { HistoryRow } from '../../runtime/methods/history.ts';

const COLUMNS = ['time', 'outcome', 'image', 'parent', 'config version', 'changes'] as const;

function cells(row: HistoryRow): string[] {
  const changes = row.changes === 0 ? '0' : `${row.changes}: ${row.changed_resources.join(', ')}`;
  return [row.time, row.outcome, row.image ? `${row.image}${row.current ? ' (current)' : ''}` : '-', row.parent ?? '-', row.config_version ?? '-', changes];
}

export function historyTable(rows: readonly HistoryRow[]): string {
  const table = [COLUMNS.map((column) => column.toUpperCase()), ...rows.map(cells)];
  const widths = COLUMNS.map((_, index) => Math.max(...table.map((line) => line[index]!.length)));
  return table.map((line) => `  ${line.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd()}`).join('\n');
}
