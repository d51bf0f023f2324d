// Mends one bug of the installed uWebSockets.js binary (uws-pack 20.0.8, Linux x64, Node ABI 115)
// before the gateway loads it: its HTTP parser trims "whitespace" from both ends of a request
// header value with a signed comparison, so bytes of 0x80 and above counted as below a space and a
// non-ASCII character at either end of a value was dropped (`X-User: Zoë` arrived as `Zo`;
// `Transfer-Encoding: \xffchunked` as `chunked`). Two conditional jumps become their unsigned
// forms: jge -> jae (the trailing trim's `< 33`), jg -> ja (the leading trim's `<= 32`). Only the
// exact file named by its sha256 is changed, and the result is checked against the sha256 of the
// mended file; any other build is left as it is, with a note. Idempotent. docs/adr/0085-uws-header-trim.md.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILE = join(ROOT, 'node_modules', 'uWebSockets.js', 'dist', 'bin', 'uws_linux_x64_115.node');
const ORIGINAL = '6f8d96d761a64beddb060f1f7f0e617dd293ed127ec1d57507aa561a0083171e';
const MENDED = '723dca98d78dfbfd60d0eb958f7ff3f9e0d052220555e5dd13c02e3ba9726afc';
/** [file offset, byte expected, byte written] (offsets are the .text section's addresses: it is mapped at its file offset). */
const EDITS = [
  [0xf2242, 0x7d, 0x73], // after `cmpb $0x21,(%rdx,%rbx,1)`: jge -> jae
  [0xf225c, 0x7f, 0x77], // after `cmpb $0x20,-0x1(%rdx)`: jg -> ja
];

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

if (process.platform === 'linux' && process.arch === 'x64' && existsSync(FILE)) {
  const bytes = readFileSync(FILE);
  const now = sha(bytes);
  if (now === ORIGINAL) {
    for (const [at, from, to] of EDITS) {
      if (bytes[at] !== from) throw new Error(`patch-uws: byte ${at.toString(16)} is ${bytes[at]}, not ${from}`);
      bytes[at] = to;
    }
    if (sha(bytes) !== MENDED) throw new Error('patch-uws: the mended binary is not the expected one; nothing written');
    writeFileSync(`${FILE}.tmp`, bytes);
    renameSync(`${FILE}.tmp`, FILE); // a gateway loading it meanwhile sees one whole file or the other
    console.log('setup: uWebSockets.js: request header values keep a non-ASCII character at either end (scripts/patch-uws.mjs)');
  } else if (now !== MENDED) {
    console.log('setup: uWebSockets.js is not the build scripts/patch-uws.mjs knows: request header values may lose a non-ASCII character at either end (docs/gateway.md)');
  }
}
