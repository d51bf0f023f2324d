/**
 * What the data proxy's checks cost per command, part by part (ADR 0033): framing, reading the
 * command (command.ts), the policy's decision, the reply's summary and the write ledger, on the
 * frames pymongo sends for one insert and one find. Twice: hot (one loop over the same frames)
 * and cold (`--cold-mib` of memory touched between two commands, as Python and the database
 * server do between two commands in place). `--against` measures another built checkout's
 * modules in the same process, in alternating rounds.
 *
 *   npx tsc -p . && node dist/bench/data-checks.js [--commands 20000] [--rounds 5] [--cold-mib 4] [--against OTHER_CHECKOUT]
 *
 * The figures are medians of the rounds, in ns per command, `hrtime` around each part included.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Binary, BSON, Long, ObjectId, type Document } from 'bson';
import { ROOT } from './paths.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

/** The modules measured, from one build's dist/. */
interface Build {
  name: string;
  readCommand: (frame: Buffer, database: string) => { comment: string | null };
  decide: (cmd: never, database: string, authenticated: boolean, ownsCursor: (id: string) => boolean) => { kind: string; write?: string | null; collection?: string | null };
  summarizeReply: (frame: Buffer) => { n: number | null } | null;
  FrameReader: new (max: number) => { push(chunk: Buffer): Buffer[] };
  WriteLedger: new () => { record(functionKey: string, runId: string, database: string, collection: string, counts: { inserted: number }): void };
  runIdOfComment: (comment: unknown) => string | null;
}

async function load(name: string, root: string): Promise<Build> {
  const mod = async (path: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(join(root, 'dist', 'controlplane', 'data', path)).href)) as Record<string, unknown>;
  const [command, policy, wire, writes] = await Promise.all([mod('command.js'), mod('policy.js'), mod('wire.js'), mod('writes.js')]);
  return { name, ...command, ...policy, ...wire, ...writes } as unknown as Build;
}

/** An OP_MSG frame: the body, and a document sequence when given (how pymongo sends insert documents). */
function opMsg(body: Document, sequence?: { id: string; docs: Document[] }): Buffer {
  const parts = [Buffer.alloc(16), Buffer.alloc(4), Buffer.from([0]), BSON.serialize(body)];
  if (sequence !== undefined) {
    const docs = Buffer.concat(sequence.docs.map((doc) => BSON.serialize(doc)));
    const id = Buffer.from(`${sequence.id}\0`);
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + id.length + docs.length);
    parts.push(Buffer.from([1]), size, id, docs);
  }
  const frame = Buffer.concat(parts);
  frame.writeInt32LE(frame.length, 0);
  frame.writeInt32LE(7, 4);
  frame.writeInt32LE(2013, 12);
  return frame;
}

const DB = 'ws_default__bench';
const lsid = { id: new Binary(Buffer.alloc(16, 1), 4) };
const PAIRS: [Buffer, Buffer][] = [
  [opMsg({ insert: 'loop', ordered: true, comment: 'fp:run=bench', lsid, $db: DB }, { id: 'documents', docs: [{ _id: new ObjectId(), v: 1 }] }), opMsg({ n: 1, ok: 1.0 })],
  [opMsg({ find: 'loop', filter: { v: 1 }, limit: 1, singleBatch: true, lsid, $db: DB }), opMsg({ cursor: { firstBatch: [{ _id: new ObjectId(), v: 1 }], id: Long.fromNumber(0), ns: `${DB}.loop` }, ok: 1.0 })],
];
const PARTS = ['framing', 'readCommand', 'decide', 'summarizeReply', 'ledger'] as const;

/** One round: ns per command for each part. */
function round(build: Build, commands: number, thrash: Float64Array): Record<(typeof PARTS)[number], number> {
  const reader = new build.FrameReader(1 << 26);
  const ledger = new build.WriteLedger();
  const spent = { framing: 0, readCommand: 0, decide: 0, summarizeReply: 0, ledger: 0 };
  let sink = 0;
  for (let i = 0; i < commands; i++) {
    const [request, reply] = PAIRS[i % 2]!;
    for (let j = 0; j < thrash.length; j += 8) sink += (thrash[j] = (thrash[j] ?? 0) + 1); // 64-byte lines: the caches go cold
    let t0 = process.hrtime.bigint();
    const frame = reader.push(request)[0]!;
    let t1 = process.hrtime.bigint();
    spent.framing += Number(t1 - t0);
    t0 = t1;
    const command = build.readCommand(frame, DB);
    t1 = process.hrtime.bigint();
    spent.readCommand += Number(t1 - t0);
    t0 = t1;
    const decision = build.decide(command as never, DB, true, () => true);
    t1 = process.hrtime.bigint();
    spent.decide += Number(t1 - t0);
    t0 = t1;
    const summary = build.summarizeReply(reply);
    t1 = process.hrtime.bigint();
    spent.summarizeReply += Number(t1 - t0);
    t0 = t1;
    const runId = decision.write ? build.runIdOfComment(command.comment) : null;
    if (runId !== null) ledger.record('bench', runId, DB, decision.collection ?? '', { inserted: summary?.n ?? 0 });
    t1 = process.hrtime.bigint();
    spent.ledger += Number(t1 - t0);
  }
  if (sink === -1) console.log(sink); // keeps the thrashing loop
  return Object.fromEntries(PARTS.map((part) => [part, spent[part] / commands])) as Record<(typeof PARTS)[number], number>;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const commands = Number(arg('commands', '20000'));
  const rounds = Number(arg('rounds', '5'));
  const coldMib = Number(arg('cold-mib', '4'));
  const against = arg('against', '');
  const builds = [await load('this build', ROOT)];
  if (against !== '') builds.push(await load(against, against));
  for (const [label, thrash] of [['hot', new Float64Array(0)], [`cold (${coldMib} MiB touched between commands)`, new Float64Array(coldMib * 131_072)]] as const) {
    const results = new Map(builds.map((build) => [build.name, PARTS.map(() => [] as number[])]));
    for (let r = 0; r < rounds; r++) {
      for (const build of r % 2 === 0 ? builds : [...builds].reverse()) {
        const spent = round(build, label === 'hot' ? commands * 5 : commands, thrash);
        PARTS.forEach((part, i) => results.get(build.name)![i]!.push(spent[part]));
      }
    }
    console.log(label);
    for (const [name, perPart] of results) {
      const medians = perPart.map(median);
      console.log(`  ${name.padEnd(12)} ${PARTS.map((part, i) => `${part} ${medians[i]!.toFixed(0)}`).join('  ')}  total ${medians.reduce((a, b) => a + b, 0).toFixed(0)} ns per command`);
    }
  }
}

await main();
