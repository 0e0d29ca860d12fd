/** A logger that keeps every line, so a bake spec can assert on what was logged. */
import type { Level, Logger } from '../../runtime/log.ts';

export interface LogLine {
  readonly level: Level;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class CapturingLog implements Logger {
  readonly lines: LogLine[] = [];

  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'debug', message, fields });
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', message, fields });
  }

  with(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }

  /** The attempt counts of a bake's failed steps, in order. */
  attempts(bakeId: string): unknown[] {
    return this.with('bake step failed').filter((line) => line.fields.bake === bakeId).map((line) => line.fields.attempt);
  }

  /** Each `from → to` the bake was moved through, in order. */
  moves(bakeId: string): string[] {
    return this.with('bake moved').filter((line) => line.fields.bake === bakeId).map((line) => `${line.fields.from} → ${line.fields.to}`);
  }

  text(): string {
    return this.lines.map((line) => JSON.stringify({ level: line.level, message: line.message, ...line.fields })).join('\n');
  }
}
