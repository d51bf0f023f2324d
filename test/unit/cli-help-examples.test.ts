/**
 * Every command's --help ends with examples, and each example parses with that command's options
 * as a shell would hand it over: an option renamed or removed breaks this test, not a reader's paste.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandArgs } from '../../cli/args.js';
import { commandHelp, COMMANDS } from '../../cli/main.js';

/** A shell's words: '…' and "…" quoting, `< file` redirections dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let redirect = false;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const word = m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!;
    if (m[3] === '<') { redirect = true; continue; }
    if (redirect) { redirect = false; continue; }
    out.push(word);
  }
  return out;
}

describe('cli help examples', () => {
  for (const entry of COMMANDS) {
    it(`${entry.name}: --help shows examples that parse with its options`, async () => {
      const command = await entry.load();
      assert.ok(command.examples.length > 0, `${entry.name} has no examples`);
      const help = commandHelp(command);
      assert.match(help, /\nExamples:\n/);
      for (const example of command.examples) {
        assert.ok(help.includes(`  fastapi-platform ${example}\n`), example);
        const [name, ...rest] = words(example);
        assert.equal(name, entry.name, example);
        assert.doesNotThrow(() => parseCommandArgs(rest, command.options, entry.name), example);
      }
    });
  }

  it('the word splitter keeps quoted JSON whole and drops a redirection', () => {
    assert.deepEqual(words(`invoke f -d '{"name": "Ada"}' < in.txt --json`), ['invoke', 'f', '-d', '{"name": "Ada"}', '--json']);
  });
});

describe('cli help: usage lines', () => {
  it("name every option of their command (workspaces' quota options stand as [quotas])", async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      const missing = Object.entries(command.options ?? {})
        .filter(([key, option]) => !command.usage.includes(`--${key}`) && !(option.short !== undefined && command.usage.includes(`-${option.short} `)))
        .filter(() => !(command.name === 'workspaces' && command.usage.includes('[quotas]')));
      assert.deepEqual(missing.map(([key]) => key), [], `${command.name}: ${command.usage}`);
    }
  });
});
