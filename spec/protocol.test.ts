import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LineSplitter, errorLine, parseLine, resultLine } from '../runtime/protocol.ts';
import { AutoamiError } from '../runtime/errors.ts';

const Splitter = suite('LineSplitter');

function collect(limit?: number) {
  const lines: string[] = [];
  let oversize = 0;
  const splitter = new LineSplitter((line) => lines.push(line.toString('utf8')), () => oversize++, limit);
  return { splitter, lines, oversized: () => oversize };
}

Splitter('should join lines split across chunks', () => {
  const { splitter, lines } = collect();
  splitter.push(Buffer.from('{"a":'));
  splitter.push(Buffer.from('1}\n{"b":2}\n{"c"'));
  splitter.push(Buffer.from(':3}\n'));
  assert.equal(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
});

Splitter('should skip blank lines and strip carriage returns', () => {
  const { splitter, lines } = collect();
  splitter.push(Buffer.from('\n  \n{"a":1}\r\n'));
  assert.is(lines.length, 1);
  assert.is(JSON.parse(lines[0]!).a, 1);
});

Splitter('should drop an oversized line without buffering it and keep the next', () => {
  const { splitter, lines, oversized } = collect(10);
  splitter.push(Buffer.from('0123456789'));
  splitter.push(Buffer.from('abcdef'));
  splitter.push(Buffer.from('ghij\n{"ok":1}\n'));
  assert.is(oversized(), 1);
  assert.equal(lines, ['{"ok":1}']);
});

Splitter('should hand over each line of one chunk intact, even when the handler keeps it', () => {
  const kept: Buffer[] = [];
  const splitter = new LineSplitter((line) => kept.push(line), () => assert.unreachable('no line is oversized'));
  splitter.push(Buffer.from('{"a":1}\n{"b":22}\n{"c":'));
  splitter.push(Buffer.from('333}\n'));
  assert.equal(kept.map((line) => line.toString('utf8')), ['{"a":1}', '{"b":22}', '{"c":333}']);
});

const Parse = suite('parseLine');

Parse('should accept a request with params', () => {
  const parsed = parseLine('{"jsonrpc":"2.0","id":3,"method":"status","params":{}}');
  assert.ok(parsed.ok);
  if (parsed.ok) {
    assert.is(parsed.request.id, 3);
    assert.is(parsed.request.notification, false);
  }
});

Parse('should mark a request without id as a notification', () => {
  const parsed = parseLine('{"jsonrpc":"2.0","method":"status"}');
  assert.ok(parsed.ok && parsed.request.notification);
});

Parse('should name the bad member of an invalid request', () => {
  for (const [line, field] of [
    ['{"jsonrpc":"2.0","id":1}', 'method'],
    ['{"jsonrpc":"2.0","id":{},"method":"x"}', 'id'],
    ['{"jsonrpc":"2.0","id":1,"method":"x","params":5}', 'params'],
    ['{"id":1,"method":"x"}', 'jsonrpc'],
  ] as const) {
    const parsed = parseLine(line);
    assert.ok(!parsed.ok, line);
    if (!parsed.ok) assert.is(parsed.error.data?.field, field, line);
  }
});

Parse('should turn invalid UTF-8 into a parse error', () => {
  const parsed = parseLine(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
  assert.ok(!parsed.ok && parsed.error.code === -32700);
});

Parse('should render errors with code, message and data', () => {
  const line = errorLine(4, new AutoamiError(-32602, 'name: bad', { data: { field: 'name' } }));
  assert.equal(JSON.parse(line), { jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'name: bad', data: { field: 'name' } } });
});

Parse('should render results as the JSON of the whole envelope', () => {
  for (const [id, result] of [
    [1, { state: 'ignored' }],
    ['a "quoted" id', [1, 'two', null]],
    [null, undefined],
    [0, 'text with \n and \u2028'],
  ] as const) {
    const line = resultLine(id, result);
    assert.ok(line.endsWith('\n'));
    assert.is(line.indexOf('\n'), line.length - 1, 'one line');
    assert.equal(JSON.parse(line), { jsonrpc: '2.0', id, result: result ?? null });
    assert.is(line, `${JSON.stringify({ jsonrpc: '2.0', id, result: result ?? null })}\n`);
  }
});

Splitter.run();
Parse.run();
