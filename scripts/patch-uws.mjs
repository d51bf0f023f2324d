// Mends two bugs of the installed uWebSockets.js binary (uws-pack 20.0.8, Linux x64, Node ABI 115)
// before the gateway loads it (docs/adr/0085-uws-header-trim.md, docs/adr/0086-uws-chunk-size.md):
//
// 1. Its HTTP parser trims "whitespace" from both ends of a request header value with a signed
//    comparison, so bytes of 0x80 and above counted as below a space and a non-ASCII character at
//    either end of a value was dropped (`X-User: Zoë` arrived as `Zo`; `Transfer-Encoding:
//    \xffchunked` as `chunked`). Two conditional jumps become their unsigned forms.
// 2. Its chunked-body parser read a chunk-size line up to any byte of 0x20 or below (or 0x80 and
//    above) and skipped the rest of the line: ` 3b` was size 0 (the body's end, and the chunk's
//    data read as the next request: smuggling behind a lenient proxy), `8 junk` was 8, and so was
//    `8\n`. Now the size's first byte may be CR or LF only when the line's digits came in an earlier
//    read (the loop's entry also resumes a line split between reads), and a digit is followed by
//    more digits up to CR, nothing else: anything else is the parser's error (400, connection
//    closed).
//
// Only the exact file named by its sha256 (the published one, or the one mended by the first fix
// alone) is changed; each byte is checked before it is written, and the result against the sha256
// of the mended file. Any other build is left as it is, with a note. Idempotent.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILE = join(ROOT, 'node_modules', 'uWebSockets.js', 'dist', 'bin', 'uws_linux_x64_115.node');
const ORIGINAL = '6f8d96d761a64beddb060f1f7f0e617dd293ed127ec1d57507aa561a0083171e';
/** After the header-value fix alone (setups before 2026-12-05). */
const HEADERS_MENDED = '723dca98d78dfbfd60d0eb958f7ff3f9e0d052220555e5dd13c02e3ba9726afc';
const MENDED = '535609242f7915d44d49726477e71229924e7d079d3a5ad0bf8cd87376f1fc3e';
/** [file offset, bytes expected (hex), bytes written] (offsets are the .text section's addresses: it is mapped at its file offset). */
const HEADER_EDITS = [
  [0xf2242, '7d', '73'], // after `cmpb $0x21,(%rdx,%rbx,1)`: jge -> jae (the trailing trim's `< 33`)
  [0xf225c, '7f', '77'], // after `cmpb $0x20,-0x1(%rdx)`: jg -> ja (the leading trim's `<= 32`)
];
const CHUNK_EDITS = [
  // The size line's first byte: `cmp $0x21,%cl; jl end` -> `lea -0xa(%rcx),%ebp; cmp $0x3,%bpl;
  // jbe end` (stop at LF, VT, FF or CR only; ebp is the loop's scratch, not live here).
  [0xf1d1f, '80f9210f8c78000000', '8d69f64080fd037678'],
  // Every next byte: `cmp $0x21,%cl; jge digit` -> `cmp $0xd,%cl; jne digit` (only CR ends the digits).
  [0xf1d91, '80f9210f8d96ffffff', '80f90d0f8596ffffff'],
];

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

function apply(bytes, edits) {
  for (const [at, from, to] of edits) {
    const [was, now] = [Buffer.from(from, 'hex'), Buffer.from(to, 'hex')];
    if (!bytes.subarray(at, at + was.length).equals(was)) throw new Error(`patch-uws: bytes at ${at.toString(16)} are not ${from}`);
    now.copy(bytes, at);
  }
}

if (process.platform === 'linux' && process.arch === 'x64' && existsSync(FILE)) {
  const bytes = readFileSync(FILE);
  const now = sha(bytes);
  if (now === ORIGINAL || now === HEADERS_MENDED) {
    if (now === ORIGINAL) apply(bytes, HEADER_EDITS);
    apply(bytes, CHUNK_EDITS);
    if (sha(bytes) !== MENDED) throw new Error('patch-uws: the mended binary is not the expected one; nothing written');
    writeFileSync(`${FILE}.tmp`, bytes);
    renameSync(`${FILE}.tmp`, FILE); // a gateway loading it meanwhile sees one whole file or the other
    console.log('setup: uWebSockets.js mended: request header values keep a non-ASCII character at either end; a chunk size is hex digits up to CRLF, nothing else (scripts/patch-uws.mjs)');
  } else if (now !== MENDED) {
    console.log('setup: uWebSockets.js is not the build scripts/patch-uws.mjs knows: request header values may lose a non-ASCII character at either end, and chunk sizes are read leniently (docs/gateway.md)');
  }
}
