// Mends the installed uWebSockets.js binary (uws-pack 20.0.8, Linux x64, Node ABI 115) before the
// gateway loads it: fifteen fixes, each listed below, of bugs and of behaviours it lacks (docs/adr/0085-uws-header-trim.md,
// docs/adr/0086-uws-chunk-size.md, docs/adr/0100-uws-chunk-terminator.md,
// docs/adr/0129-uws-async-upgrade.md, docs/adr/0150-stream-head-at-response-start.md,
// docs/adr/0154-uws-chunk-digits.md, docs/adr/0246-http-1-0-served.md,
// docs/adr/0228-absolute-form-and-json-parser-errors.md, docs/adr/0254-the-parser-answers-what-it-left-waiting.md):
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
// 3. The same parser took the two bytes after each chunk's data for its CRLF without looking at
//    them (`5\r\nhelloXX0\r\n\r\n` was `hello`; `hello\n0` too): a request hidden in a chunk's
//    data ran as the next one behind a front end that accepts a bare LF there. Now they must be CR
//    then LF, also when they (or the data) come split over reads, else the parser's error. The
//    function (getNextChunk) is rewritten in three of its blocks, same addresses, plus 12 bytes of
//    dead padding before it: the ADR shows every instruction.
// 4. `res.upgrade` called from a later event must not run inside `res.cork`: the cork's end then
//    treats the new WebSocket as the HTTP response it was (its memory is resized in place), and
//    read a `Connection: close` there now and then (the connection ended with no close frame, 1006)
//    and reset an HTTP timeout in it. The gateway upgrades outside any cork (gateway/uws-adapter.ts,
//    rule 12); the binding then printed "writes must be made from within a corked callback" on
//    every upgrade. Its two checks in `res.upgrade` (plain HTTP) are made to find it corked.
// 5. `res.write` of an empty piece wrote nothing, and a chunked response's head ended only with
//    its first body byte: an ASGI app's head (a Server-Sent Events stream waiting for its first
//    event) reached the client late, where uvicorn sends it at `http.response.start`. Now an empty
//    write, before any body byte, ends the head (Date, Transfer-Encoding, CRLF) and marks it
//    written; the next chunk's size (or the last chunk `0`) then follows with no CRLF before it.
//    Four jumps in write and internalEnd (plain HTTP) to 294 bytes after `.fini`, in the zero
//    padding of the executable segment's last page, whose size now covers them (ADR 0150).
// 6. A client's close frame with a code of 1012-1014 (Service Restart, Try Again Later, Bad
//    Gateway) or 3000-3999 (registered for libraries: 3000 Unauthorized, 3003 Forbidden) was taken
//    for an invalid close payload: the app saw 1006 ("Received invalid close payload") and the client
//    got a close without a code, where uvicorn (websockets, wsproto) passes and echoes them. The
//    parser's check `code - 1012 < 2988` (1012-3999 refused) becomes `code - 1015 < 1985`
//    (1015-2999): valid are 1000-1003, 1007-1014 and 3000-4999, as in Python's websockets. Both
//    copies of the check in the plain-HTTP WebSocket (ADR 0150).
// 7. Its chunk-size digits were converted without a range check below 'A' and 'a': `:;<=>?@` were
//    the digits 10-16, and `G` and `g` 16, so a chunk extension (`1;x`, RFC 9112 §7.1.1) was read
//    as part of the size (`1;` was 0x1b): a proxy that honours the extension and the gateway read
//    another body length, and a request hidden in the next one ran (differential round 3). The
//    conversion is rewritten in place (same 43 bytes): only 0-9, A-F and a-f are digits, anything
//    else is the parser's error (400, connection closed), a chunk extension included
//    (docs/adr/0154-uws-chunk-digits.md).
// 8. An HTTP/1.0 request (ApacheBench, `curl -0`, nginx's default `proxy_pass`) was answered 505
//    by the parser, where uvicorn serves it and closes the connection after the answer. The parser
//    accepts the version now, leaves it at the end of the request target for the gateway to see,
//    and sets the request's `ancientHttp` flag, which the build's own code already turns into a
//    close after the answer (docs/adr/0246-http-1-0-served.md; HTTP10_EDITS below).
// 9. (With 8.) An HTTP/1.0 request without a `Host` header was the parser's 400, and one with no header at
//    all (`GET / HTTP/1.0` then an empty line: HAProxy's `option httpchk`, old monitors) waited
//    unanswered, where uvicorn serves both (Host is required in HTTP/1.1 only, RFC 9112 §3.2). Now
//    the Host check lets an `ancientHttp` request through, and an HTTP/1.0 request line followed by
//    CRLF ends the head with no header (docs/adr/0246-http-1-0-served.md, amendment; HOSTLESS_EDITS).
// 10. An HTTP/1.1 request with no header at all (`GET / HTTP/1.1` then an empty line) waited
//    unanswered until the idle timeout; it has no Host, which HTTP/1.1 requires: now its head ends
//    there as an HTTP/1.0 one's does, and the Host check answers 400 at once, as uvicorn with h11
//    does (docs/adr/0246-http-1-0-served.md, second amendment; EXPECT_EDITS).
// 11. `Expect: 100-continue` from an HTTP/1.0 client was answered `100 Continue` by the router's
//    handler, which RFC 9110 §10.1.1 forbids (a 1.0 client may take it for the answer); now the
//    handler writes it only when the request's `ancientHttp` flag is clear (EXPECT_EDITS).
// 12. An absolute-form request target (`GET http://host/path HTTP/1.1`, what a client sends to a
//    proxy) was the parser's 505, where RFC 9112 §3.2.2 says a server MUST accept it. Now a target
//    starting with `http://` or `https://` (any case) is taken as a `/` would be, whole: the gateway
//    routes its path and takes its authority for Host (gateway/absolute-form.ts; ABSOLUTE_EDITS).
// 13. The parser's own refusals (400, 431, 505) were upstream's HTML pages, without a code; now they
//    are the platform's JSON errors (BAD_REQUEST, REQUEST_HEADERS_TOO_LARGE,
//    HTTP_VERSION_NOT_SUPPORTED) with Content-Type and Content-Length (parserErrorEdits; ADR 0228).
// 14. Heads the parser took for incomplete ones and left waiting until the idle timeout (a garbage
//    request line, a control byte in a value, a space in a field name, obs-fold, a bare CR) are its
//    400 at once; empty lines before a request line are skipped (RFC 9112 §2.2); a head split
//    inside its version or after the method's space waits for the rest instead of the 505
//    (docs/adr/0254-the-parser-answers-what-it-left-waiting.md; STRAY_EDITS).
// 15. A head holding CR `a` (the two bytes the parser fences the data's end with) was taken for
//    an incomplete one and waited for the idle timeout: the fence now carries its own address after
//    it, which no client can send, and only a stop there waits (ADR 0254 amended; FENCE_EDITS).
//
// Only the exact file named by its sha256 (the published one, or one mended by the earlier fixes)
// is changed; each byte is checked before it is written, and the result against the sha256
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
/** After the header-value and chunk-size fixes (setups of 2026-12-05 before ADR 0100). */
const SIZE_MENDED = '535609242f7915d44d49726477e71229924e7d079d3a5ad0bf8cd87376f1fc3e';
/** After the first three fixes (setups of 2026-12-05 before ADR 0129). */
const TERM_MENDED = '299acdd481f5645c81441d3af5bd926b58e93c0adb45bba072a29c7fefb121df';
/** After the first four fixes (setups of 2026-12-05 and 2026-12-06 before ADR 0150). */
const UPGRADE_MENDED = 'c4c9dbcf5c8e41c446077cbac3b5514f50f6236c3abe4d90a5c51963fb3093fd';
/** After the first five fixes (ADR 0150's streamed head, setups of 2026-12-06). */
const HEAD_MENDED = 'eab6282086c1ced1a21a88cb62a9e8eb31609dd3801d26340a354a4577462f03';
/** After the first six fixes (ADR 0150's close codes, setups of 2026-12-06 before ADR 0154). */
const CLOSE_MENDED = '2d50084bb2d12f4fccbf9ed1a924b83f4b14658e970a38a7b3e01e78c4c37e4f';
/** After the first seven fixes (ADR 0154's chunk digits, setups of 2026-12-06 and 2026-12-07 before ADR 0246). */
const DIGIT_MENDED = '42d0d18d64c57323392d8a641309782335141584500f49b34b99120037b02aae';
/** After the first eight fixes (ADR 0246's HTTP/1.0, setups of 2026-12-07 before apps round 30). */
const HTTP10_MENDED = '7f931915c2d87d6ef424f31cbd7670ecb5f4e02df618b53eeeb89b81fb1e4bea';
/** After the first nine fixes (ADR 0246 amended, apps round 30). */
const HOSTLESS_MENDED = '2c85df5712d4995482a6d88e40dccf9d20d37c85bda843635d20e5b53a05fc70';
/** After the first eleven fixes (ADR 0246 amended twice, apps round 31). */
const EXPECT_MENDED = '3e1221e03483deaf5794c75b32d1aadd3d7f28f8378e86a62a341692c199f298';
/** After the first thirteen fixes (ADR 0228, apps round 32). */
const ABSOLUTE_MENDED = 'c4ca9dce445453459b3c504630fb5308a62f1bfdf6f2c2335ef1bf3141be62f8';
/** After the first fourteen fixes (ADR 0254, apps round 33). */
const STRAY_MENDED = 'e24015ca7bca38f04df4813cf78d846cd02440b9b1ea93b1e6e68259d8f98635';
const MENDED = 'ada926bf105a837a576f62ac9fa8feac05106121cf9ebd6c3d0f0683b7b0c7a2';
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
// getNextChunk's data blocks (docs/adr/0100-uws-chunk-terminator.md lists each instruction). S is
// the chunk's bytes still to come, its CRLF included (r15); rsi the input (length, pointer); rdx
// the state; 0xf1ed7 the function's error exit (state = error, no chunk), as for a bad size.
const TERM_EDITS = [
  // Dead padding after the noreturn `call __throw_length_error` (0xf1c74-0xf1c7f): ERR: `jmp
  // 0xf1ed7`; ONE: `cmpb $0xa,(%rax); jne ERR; jmp 0xf1cfb` (S == 1: only the LF is left).
  [0xf1c74, '662e0f1f8400000000006690', 'e95e02000080380a75f6eb7b'],
  // All S bytes are here (0xf1cdd-0xf1d0f): `mov 0x8(%rsi),%rax; cmp $0x1,%r15; je ONE; cmpw
  // $0xa0d,-0x2(%rax,%r15); jne ERR; cmp $0x3,%r15; jae 0xf1efd` (the chunk handed over, as
  // before); 0xf1cfb: `add %r15,0x8(%rsi); mov %rcx,(%rsi); mov %r11,(%rdx); xchg %rax,%rcx; jmp
  // 0xf1df2` (S <= 2 consumed, the loop goes on as before); int3 x4 (unreachable).
  [0xf1cdd,
    '488b46084983ff030f83120200004c01f84889460848890e4c891a488b064c89dbe91c010000662e0f1f8400000000000f1f00',
    '488b46084983ff0174926642817c38fe0d0a75834983ff030f83020200004c017e0848890e4c891a4891e9e6000000cccccccc'],
  // The state with a size of 0 (not reached by a chunked body) goes to 0xf1cfb, past the checks.
  [0xf1e7f, '0f8358feffff', '0f8376feffff'],
  // Fewer bytes than S here (0xf1e85-0xf1ed6): when they end one byte before the LF, the last is
  // the CR: `lea 0x1(%rax),%rcx; cmp %r15,%rcx; mov 0x8(%rsi),%r10; jne +0xc; cmpb
  // $0xd,-0x1(%r10,%rax); jne 0xf1ed7`; then the block as before, shorter: `lea -0x2(%r15),%r9; cmp
  // %r9,%rax; cmovbe %rax,%r9; add %rax,0x8(%rsi); andq $0x0,(%rsi); mov %eax,%ecx; sub %rcx,(%rdx);
  // cmp $0x3,%r15; jb 0xf1ede; mov %r9,(%rdi); mov %r10,%rax; jmp 0xf1f12`; int3 x12.
  [0xf1e85,
    '4d8d4ffe4c39c84c8b56084c0f46c84983c0fe4c21c389c04c89f94829c14809d94c09d948890a488b064c01d04889460848c706000000004d85c9741c4983ff03721631c04983ff02490f47c24c890feb3b',
    '488d48014c39f94c8b5608750c41807c02ff0d0f85390000004d8d4ffe4c39c84c0f46c8480146084883260089c148290a4983ff030f821e0000004c890f4c89d0e947000000cccccccccccccccccccccccc'],
];

// res_upgrade<0> (plain HTTP): `cmpl $0x0,(insideCorkCallback); je warn` -> nops, and on its other
// path `jne corked` -> `jmp corked` (docs/adr/0129-uws-async-upgrade.md).
const UPGRADE_EDITS = [
  [0x1117f0, '743b', '9090'],
  [0x11182b, '75c5', 'ebc5'],
];
// An empty `res.write` ends the head (docs/adr/0150-stream-head-at-response-start.md lists each
// instruction of the code added). State bit 0x20 of the response (unused by this build; a new
// request sets the state whole) means "the head ended, no chunk yet".
const HEAD_CAVE = 0x3d2c80;
const HEAD_EDITS = [
  // write<0>: `test %r14,%r14; je ret_true` (an empty piece) -> `je A`.
  [0x101d79, '0f8421030000', '0f84010f2d00'],
  // write<0>, a chunk: `lea "\r\n",%rsi` before its size -> `jmp B; nop; nop`.
  [0x101e05, '488d35f11b2d00', 'e91e0f2d009090'],
  // internalEnd<0>, the last chunk with end(data): the same -> `jmp C; nop; nop`.
  [0xff51d, '488d35d9442d00', 'e929382d009090'],
  // internalEnd<0>: `lea "\r\n0\r\n\r\n",%rsi` -> `jmp D; nop; nop`.
  [0xff799, '488d3558422d00', 'e9d2352d009090'],
  // The executable segment's p_filesz and p_memsz: 0x314c71 -> 0x314e00 (its page's padding, to 0x3d2e00).
  [0x98, '714c310000000000', '004e310000000000'],
  [0xa0, '714c310000000000', '004e310000000000'],
  // A (0x3d2c80): if WRITE_CALLED, return true; else the write's own header block (Date, uWebSockets
  // unless silent, Transfer-Encoding: chunked), state |= 0x22, write "\r\n", return true. B
  // (0x3d2d28), C (0x3d2d4b): `xor %ebp,%ebp`; with 0x20, clear it and go to the size's digits,
  // else `lea "\r\n",%rsi` and back. D (0x3d2d70): with 0x20, clear it and write "0\r\n\r\n" (5 bytes
  // of the same string), else as before. Then int3 x4.
  [HEAD_CAVE, '00'.repeat(294),
    'f683ec000000020f8513f4d2ff488b431841b8500100004c0300488d15193b0400be04000000b91d0000004889dfe8ddc5d2ff488b4318488b0080b878010000007520488d15470d00004c8d05c3490000be0b000000b9020000004889dfe8adc5d2ff488d15510f00004c8d055c0f0000be11000000b9070000004889dfe88dc5d2ff808bec00000022488d35ec0c00004889dfba0200000031c94531c0e87d61d2ffe978f3d2ff31edf683ec00000020740c80a3ec000000dfe9e1f0d2ff488d35b70c0000e9c1f0d2ff31ed41f687ec00000020740d4180a7ec000000dfe9d4c7d2ff488d35920c0000e9b4c7d2ff41f687ec00000020750c488d35770c0000e91acad2ff4180a7ec000000df488d35650c00004c89ffba05000000e906cad2ffcccccccc'],
];
// WebSocketProtocol's close-payload check, twice (plain HTTP): `lea -0x3f4(code),%eax; movzwl; cmp
// $0xbac,%eax; jb invalid` -> `lea -0x3f7(code)`, `cmp $0x7c1` (1015-2999 invalid, not 1012-3999).
const CLOSE_CODE_EDITS = [
  [0x1003bd, '8d850cfcffff', '8d8509fcffff'],
  [0x1003c6, '3dac0b0000', '3dc1070000'],
  [0x100582, '418d860cfcffff', '418d8609fcffff'],
  [0x10058c, '3dac0b0000', '3dc1070000'],
];
// consumeHexNumber's digit conversion (0xf1d30-0xf1d5a): `c - '0'` up to 9 is the digit; else
// `(c | 0x20) - 'a'` up to 5, plus 10; else `ja 0xf1ed7` (the error exit, as for `zz`); nops to
// the end. Was: `c - 0x27` above 0x60, `c - 7` above 0x40, else `c`, then `- '0'`, error above 16.
const DIGIT_EDITS = [
  [0xf1d30, '8d41d98d69f980f9400fb6c9400fb6ed0f46e980f9600fb6c00f46c50fb6c083c0d083f8100f877c010000',
    '0fb6c183e83083f809761583c9200fb6c183e86183f8050f878a01000083c00a0f1f440000660f1f440000'],
];
// Fix 8 (docs/adr/0246-http-1-0-served.md): HTTP/1.0. The request line's version check (in the
// header parser, its request-line branch: ` HTTP/1.1\r\n` as two 8-byte XORs from the space after
// the target) jumps on a mismatch to HTTP10_CAVE, which tries ` HTTP/1.0\r\n` (the first word's
// XOR is still in %rax) and, on a match, adds its 9 bytes (` HTTP/1.0`) to the target's length
// (headers[0].value, 0x10(%r15)) and goes on as for 1.1; else the old failure path (505, or wait
// for more bytes). Then, where the parser's caller resets the request's `ancientHttp` flag (its
// byte at headers + 0xc80, 0xd20(%rsp) there; both calls of the parser), a jump to ANCIENT_CAVE_A/B
// resets it and sets it when the target ends with ` HTTP/1.0` (no 1.1 target holds a space), so the
// build's own rule closes the connection after the answer (its HttpContext already marks a response
// "close" for an ancient request, as for `Connection: close`). The gateway takes the mark off the
// target and answers `connection: close` (gateway/http10.ts). The executable segment's size grows
// to cover the caves (0x3d2f00, in the zero padding of its last page).
const HTTP10_CAVE = 0x3d2db0;
const ANCIENT_CAVE_A = 0x3d2de0;
const ANCIENT_CAVE_B = 0x3d2e30;
/** `movb $0,0xd20(%rsp)` again; `ancientHttp` = the target ends with ` HTTP/1.0` (cmpl "HTTP", cmpl "/1.0", cmpb ' '); then back (the rel32 last). */
const ANCIENT_CHECK = 'c68424200d000000488b8424b00000004883f809722848038424b80000008178f84854545075178178fc2f312e30750e8078f7207508c68424200d000001e9';
const HTTP10_EDITS = [
  [0xf20b0, '31c0803e0d0f95c04889c6e92bffffff', 'e9fb0c2e00cccccccccccccccccccccc'], // the mismatch path: jmp HTTP10_CAVE
  [0xf1297, 'c68424200d000000', 'e9441b2e000f1f00'], // movb $0,0xd20(%rsp) -> jmp ANCIENT_CAVE_A
  [0xf16d1, 'c68424200d000000', 'e95a172e000f1f00'], // the same after the other call -> jmp ANCIENT_CAVE_B
  [0x98, '004e310000000000', '004f310000000000'], // p_filesz of the executable segment
  [0xa0, '004e310000000000', '004f310000000000'], // p_memsz
  // movabs "TP/1.0\r\n",%rcx; xor 3(%rsi),%rcx; or %rax,%rcx; jne fail; addq $9,0x10(%r15); jmp 0xf20c0;
  // fail: the 16 bytes replaced above (xor %eax,%eax; cmpb $0xd,(%rsi); setne %al; mov %rax,%rsi; jmp 0xf1feb).
  [HTTP10_CAVE, '00'.repeat(45), '48b954502f312e300d0a48334e034809c1750a4983471009e9f3f2d1ff31c0803e0d0f95c04889c6e90ef2d1ff'],
  [ANCIENT_CAVE_A, '00'.repeat(67), `${ANCIENT_CHECK}7ce4d1ff`], // back to 0xf129f
  [ANCIENT_CAVE_B, '00'.repeat(67), `${ANCIENT_CHECK}66e8d1ff`], // back to 0xf16d9
];
// Fix 9 (ADR 0246 amended, apps round 30): an HTTP/1.0 request needs no Host. Where the parser's
// caller asks for Host (getHeader("host") inlined after each of the two parser calls: `mov $3,
// error; test %rdx,%rdx; je error-400`), a jump to HOST_CAVE_A/B: Host present, or the request's
// `ancientHttp` flag set (0xd20(%rsp), set just before by ANCIENT_CAVE_A/B), goes on as with a Host;
// else the 400 as before (an HTTP/1.1 request without Host stays refused). And the HTTP/1.0 request
// line's cave (HTTP10_CAVE) goes on to NOHEADER_CAVE: when CRLF follows the line at once, the head
// ends there with no header (headers[1].key = empty, 0x20(%r15); the bytes consumed, up to after
// that CRLF, from the start in %r13, returned as at 0xf2294); else the header loop at 0xf20c0 as
// before (an HTTP/1.1 request with no header still waits). The buffer is fenced with CR and a non-LF
// after its end, so a line ending at the end of the data is not taken for a whole head.
const HOST_CAVE_A = 0x3d2e80;
const HOST_CAVE_B = 0x3d2ea0;
const NOHEADER_CAVE = 0x3d2ec0;
const HOSTLESS_EDITS = [
  [0xf1434, '4885d27442', 'e9471a2e00'], // test %rdx,%rdx; je 0xf147b (the 400) -> jmp HOST_CAVE_A
  [0xf1806, '4885d20f8446030000', 'e995162e00cccccccc'], // test %rdx,%rdx; je 0xf1b55 (the 400) -> jmp HOST_CAVE_B
  [HTTP10_CAVE + 24, 'e9f3f2d1ff', 'e9f3000000'], // HTTP10_CAVE's jmp 0xf20c0 -> jmp NOHEADER_CAVE
  // test %rdx,%rdx; jne 0xf1439; cmpb $0,0xd20(%rsp); jne 0xf1439; jmp 0xf147b; int3 x2.
  [HOST_CAVE_A, '00'.repeat(30), '4885d20f85b0e5d1ff80bc24200d0000000f85a2e5d1ffe9dfe5d1ffcccc'],
  // The same for the other call: go on at 0xf180f, the 400 at 0xf1b55.
  [HOST_CAVE_B, '00'.repeat(30), '4885d20f8566e9d1ff80bc24200d0000000f8558e9d1ffe999ecd1ffcccc'],
  // cmpw $0xa0d,0xb(%rsi); jne 0xf20c0; lea 0xd(%rsi),%eax; sub %r13d,%eax; xorps %xmm0,%xmm0;
  // movups %xmm0,0x20(%r15); jmp 0xf22a4 (the function's return).
  [NOHEADER_CAVE, '00'.repeat(31), '66817e0b0d0a0f85f4f1d1ff8d460d4429e80f57c0410f114720e9c5f3d1ff'],
];
// Fix 10 (ADR 0246 amended, apps round 31): an HTTP/1.1 request line followed at once by the
// empty line ends the head too (NOHEADER_CAVE, as for 1.0): the caller's Host check then refuses it
// 400 at once (no Host, no `ancientHttp`), where it waited for the idle timeout. The 1.1 match's
// `je 0xf20c0` (the header loop) -> `je 0xf20b5`, and there (int3 padding) `jmp NOHEADER_CAVE`.
// Fix 11 (same amendment): no `100 Continue` to an HTTP/1.0 client (RFC 9110 §10.1.1). Where the
// router's handler (both instantiations) writes it for `Expect: 100-continue`, `lea "HTTP/1.1 100
// Continue",%rsi` -> `jmp EXPECT_CAVE_A/B; nop; nop`; the cave: `cmpb $0,0xc80(%rbx)` (the
// request's `ancientHttp`, rbx the HttpRequest); `jne` past the write (to the handler's call); else
// the lea and back. The executable segment's size grows to 0x314f40 (to 0x3d2f40).
const EXPECT_CAVE_A = 0x3d2ee0;
const EXPECT_CAVE_B = 0x3d2f00;
const EXPECT_EDITS = [
  [0xf20ae, '7410', '7405'], // the 1.1 match: je 0xf20c0 -> je 0xf20b5
  [0xf20b5, 'cccccccccc', 'e9060e2e00'], // jmp NOHEADER_CAVE (which goes on at 0xf20c0 unless CRLF follows)
  [0xe8441, '488d35c9b42e00', 'e99aaa2e009090'], // lea "HTTP/1.1 100 Continue",%rsi -> jmp EXPECT_CAVE_A
  [0xfdcb1, '488d35595c2d00', 'e94a522d009090'], // the same in the other instantiation -> jmp EXPECT_CAVE_B
  [0x98, '004f310000000000', '404f310000000000'], // p_filesz of the executable segment
  [0xa0, '004f310000000000', '404f310000000000'], // p_memsz
  // cmpb $0,0xc80(%rbx); jne 0xe845a (the handler's call); lea 0x3d3911(%rip),%rsi; jmp 0xe8448; int3 x7.
  [EXPECT_CAVE_A, '00'.repeat(32), '80bb800c0000000f856d55d1ff488d351d0a0000e94f55d1ffcccccccccccccc'],
  // The same for the other: 0xfdcca, 0xfdcb8.
  [EXPECT_CAVE_B, '00'.repeat(32), '80bb800c0000000f85bdadd2ff488d35fd090000e99fadd2ffcccccccccccccc'],
];
// Fix 12 (docs/adr/0228-absolute-form-and-json-parser-errors.md, apps round 32): an absolute-form
// request target (`GET http://host/path HTTP/1.1`, what a client sends to a proxy; RFC 9112 §3.2.2:
// a server MUST accept it) was the parser's 505: after the method's space it asked for `/`. Now that
// `jne` (to the refusal) goes to ABSOLUTE_CAVE, which takes `http://` or `https://` (the scheme in any
// case) as a `/` would be taken: the whole target is the URL handed to JavaScript, where
// gateway/absolute-form.ts takes the path out of it and the authority for Host. Anything else is the
// refusal as before (cl still holds the space: 505). The executable segment grows to cover it.
const ABSOLUTE_CAVE = 0x3d2f20;
const ABSOLUTE_EDITS = [
  [0xf1f74, '0f8568000000', '0f85a60f2e00'], // cmpb $0x2f,(%rax); jne 0xf1fe2 -> jne ABSOLUTE_CAVE
  [0x98, '404f310000000000', '684f310000000000'], // p_filesz of the executable segment (to 0x3d2f68)
  [0xa0, '404f310000000000', '684f310000000000'], // p_memsz
  // mov (%rax),%rsi; or $0x20202020,%rsi (the scheme's first four bytes lowercased); mov %rsi,%rdi;
  // shl $8,%rdi; movabs "\0http://",%rdx; cmp %rdx,%rdi; je OK; movabs $0x2020202020,%rdx; or
  // %rdx,%rsi; movabs "https://",%rdx; cmp %rdx,%rsi; jne 0xf1fe2 (the refusal); OK: jmp 0xf1f7a
  // (the origin-form path: the method's end, then the target up to its first byte below 0x21); int3 x3.
  // Eight bytes are read at the target: the parser's input is padded past its end (as for the version).
  [ABSOLUTE_CAVE, '00'.repeat(72),
    '488b304881ce202020204889f748c1e70848ba00687474703a2f2f4839d7742048ba20202020200000004809d648ba68747470733a2f2f4839d60f8582f0d1ffe915f0d1ffcccccc'],
];
// Fix 13 (same ADR): the parser's own refusals (400, 431, 505) were upstream's HTML pages
// (`<h1>Bad Request</h1>…`); now they are the platform's JSON errors with their stable codes
// (docs/errors.md): BAD_REQUEST, REQUEST_HEADERS_TOO_LARGE and HTTP_VERSION_NOT_SUPPORTED. The
// answers are sent whole from a table of (length, pointer) pairs in .data.rel.ro (one `send`, then
// the close); the new texts are too long for the old ones' places, so they go in the zero padding
// after the first (read-only) segment, whose size now covers them, and each pair gets its new
// length, pointer and the pointer's relocation addend. Nothing else points into the old texts.
const PARSER_ERRORS_AT = 0xbd2a0;
const parserError = (status, reason, code, message) => {
  const body = JSON.stringify({ error: { code, message, component: 'request' } });
  return Buffer.from(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
};
const PARSER_ERRORS = [
  parserError(505, 'HTTP Version Not Supported', 'HTTP_VERSION_NOT_SUPPORTED', 'the request line is malformed, or its version is not HTTP/1.1 or HTTP/1.0'),
  parserError(431, 'Request Header Fields Too Large', 'REQUEST_HEADERS_TOO_LARGE', 'the request line and headers are too large'),
  parserError(400, 'Bad Request', 'BAD_REQUEST', 'the request is malformed: refused by the HTTP parser'),
];
const le64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b.toString('hex'); };
function parserErrorEdits() {
  const edits = [];
  const old = [[0xae, 0x3d3cba], [0x8b, 0x3d3d69], [0x63, 0x3d3df5]];
  let at = PARSER_ERRORS_AT;
  PARSER_ERRORS.forEach((text, i) => {
    const pair = 0x682e20 + 16 * i; // the table's entry i + 1 (entry 0 is "no error"), file offset
    edits.push([at, '00'.repeat(text.length), text.toString('hex')]);
    edits.push([pair, le64(old[i][0]), le64(text.length)]);
    edits.push([pair + 8, le64(old[i][1]), le64(at)]);
    edits.push([0x9b980 + 24 * i + 16, le64(old[i][1]), le64(at)]); // its R_X86_64_RELATIVE's addend
    at += text.length;
  });
  edits.push([0x60, le64(0xbd298), le64(at)], [0x68, le64(0xbd298), le64(at)]); // p_filesz, p_memsz of the first segment
  return edits;
}
// Fix 14 (docs/adr/0254-the-parser-answers-what-it-left-waiting.md, apps round 33): the header
// parser returned "incomplete, wait" (0, no error) wherever a byte stopped a scan without being
// what it expected, so a malformed head waited unanswered for the idle timeout (about 10 s): a
// request line without a space (`GARBAGE`) or without a version (`GET /`), a control byte other
// than HTAB in a value (a bare LF included), a field name ended by anything but `:` (a space: an
// obs-fold line or `Transfer-Encoding : chunked`; a line without a colon), and a CR not followed
// by LF. The caller fences the data with CR `a` after its end, so such a stop is the data's end
// only at that CR: elsewhere it is now the parser's 400 (err = 3: the JSON BAD_REQUEST of fix 13).
// An empty line (CRLF) before the request line is skipped (RFC 9112 §2.2; uvicorn does) and
// counted in the bytes consumed, where it waited; a head starting with two (the first four bytes
// of a PROXY v2 signature) that is not one is parsed as HTTP instead of waiting. And a request line
// whose read ended inside its version (` HTTP/1.`, or before the LF), right after the method's
// space or inside an absolute-form scheme (`GET htt`) was the parser's 505: a space followed by
// neither a target nor a version now waits when the data ends within the next 10 bytes, before any
// CRLF (a slow client, a proxy that forwards reads as they come).
// The caves go after ABSOLUTE_CAVE (0x3d2f70-0x3d2ff9), the executable segment grown to cover them.
const STRAY_CAVE = 0x3d2f70;
const STRAY_EDITS = [
  // The request line's failure (the method ended by a byte that is not a space, or no target
  // after it): `xor %esi,%esi; cmp $0xd,%cl; setne %sil` -> `jmp RL; int3 x4` (0xf1feb stays).
  [0xf1fe2, '31f680f90d400f95c6', 'e9be0f2e00cccccccc'],
  [0xf21ba, '0f85e4000000', '0f85da0d2e00'], // the name's end is not ':': jne 0xf22a4 (wait) -> jne NAME
  [0xf2215, '0f8589000000', '0f85610d2e00'], // a value's control byte is not CR (nor HTAB): -> jne BAD
  [0xf221e, '0f8580000000', '0f854c0d2e00'], // a value's CR without LF: -> jne CRCHK (rsi past the CR)
  [0xf228e, '807f030a7510', 'e9f70c2e0090'], // after a field line, CR without LF: -> jmp END; nop
  [0xf202e, '0f8570020000', '0f8520ffffff'], // CRLFCRLF without the rest of the PROXY v2 signature: jne 0xf1f54 (parse as HTTP)
  // HTTP10_CAVE's failure path (no version after the target) -> jmp TARGET; int3 x11.
  [HTTP10_CAVE + 29, '31c0803e0d0f95c04889c6e90ef2d1ff', 'e9fd010000cccccccccccccccccccccc'],
  [0x98, '684f310000000000', 'fa4f310000000000'], // p_filesz of the executable segment (to 0x3d2ffa)
  [0xa0, '684f310000000000', 'fa4f310000000000'], // p_memsz
  // CRCHK (rsi: the byte after a CR that ends no CRLF): `cmpb $0x61,(%rsi); je WAIT; cmpw
  // $0x610d,(%rsi); je WAIT` (the CR is the fence, or the fence follows it); BAD: `movl
  // $3,(%r14)`; WAIT: `xor %eax,%eax; jmp 0xf22a4`. END: `cmpb $0xa,3(%rdi); je 0xf2294` (as
  // before); `lea 3(%rdi),%rsi; jmp CRCHK`. NAME: `cmpb $0xd,(%rdx); jne BAD; lea 1(%rdx),%rsi; jmp
  // CRCHK`. RL (cl: the byte that ended the method, rax one past it, rbx the line's start): `cmp
  // $0x20,%cl; je SP2; cmp $0xd,%cl; jne V505` (505 as before); `mov %rax,%rsi; cmpb $0xa,(%rax);
  // jne CRCHK; lea -1(%rax),%rdx; cmp %rbx,%rdx; jne BAD` (a CRLF ending a line that has begun);
  // `lea 1(%rax),%rbx; jmp 0xf1f59` (an empty line first: the request line starts after it). SP2
  // (a space, then neither `/` nor a scheme): `lea -1(%rax),%rsi; jmp SPACE`. TARGET (rsi: the
  // byte that ended the target): `cmpb $0xd,(%rsi); jne SPACE; inc %rsi; jmp CRCHK`. SPACE: for
  // ecx 0-10, `movzwl (%rsi,%rcx),%eax`: CR `a` (the fence: the data ends) is WAIT, CRLF is V505;
  // V505: `or $1,%esi; jmp 0xf1feb` (505 as before).
  [STRAY_CAVE, '00'.repeat(138),
    '803e61740e66813e0d61740741c7060300000031c0e91af3d1ff807f030a0f8400f3d1ff488d7703ebd6803a0d75dd488d7201ebcb80f920741f80f90d75434889c680380a75b9488d50ff4839da75bc488d5801e990efd1ff488d70ffeb0a803e0d750548ffc6eb9731c90fb7040e663d0d61749e663d0d0a7407ffc183f90b72e983ce01e9f1efd1ff'],
];
// Fix 15 (ADR 0254 amended, apps round 34): fix 14's cave took any CR followed by `a` for the fence
// (the caller writes CR `a` after the data's end so that the scans stop there), so a head holding
// those two bytes (`X-A: x\ray`, `GET /p\ra`) still waited for the idle timeout. Both places that
// write the fence (the fallback buffer's, 0xf1238, and the read buffer's, 0xf164b; 32 bytes of
// padding follow either) now also write the fence's own address in the 8 bytes after it: `andl
// $0,err` (shorter than `movl`, for room), the fence as one `movw $0x610d`, then `mov
// %fence,2(%fence)`. The cave, assembled again one size up (143 bytes, to 0x3d2fff), decides by
// that address alone: CRCHK (rsi: the byte after a CR) waits when `1(%rsi)` holds rsi-1 (this CR is
// the fence) or `2(%rsi)` holds rsi (the next byte is); SPACE waits when `2(p)` holds p for p =
// rsi+rcx, and its CRLF check reads the bytes at p. Everything else is fix 14's code, moved: the
// jumps into the cave follow its labels (CRCHK 0x3d2f70, BAD 0x3d2f80, WAIT 0x3d2f87, END
// 0x3d2f8e, NAME 0x3d2f9e, RL 0x3d2fa9, TARGET 0x3d2fd3, V505 0x3d2ff7). A client would have to
// send the heap address of the parser's buffer to be taken for the fence, and then only waits.
const FENCE_EDITS = [
  [0xf1fe2, 'e9be0f2e00', 'e9c20f2e00'], // jmp RL
  [0xf21ba, '0f85da0d2e00', '0f85de0d2e00'], // jne NAME
  [0xf2215, '0f85610d2e00', '0f85650d2e00'], // jne BAD
  [0xf228e, 'e9f70c2e00', 'e9fb0c2e00'], // jmp END
  [HTTP10_CAVE + 29, 'e9fd010000', 'e901020000'], // jmp TARGET
  [0x98, 'fa4f310000000000', 'ff4f310000000000'], // p_filesz of the executable segment (to 0x3d2fff)
  [0xa0, 'fa4f310000000000', 'ff4f310000000000'], // p_memsz
  [STRAY_CAVE, STRAY_EDITS[STRAY_EDITS.length - 1][2] + '00'.repeat(5),
    '488d46ff48394601740d48397602740741c7060300000031c0e916f3d1ff807f030a0f84fcf2d1ff488d7703ebd2803a0d75dd488d7201ebc780f920741f80f90d75444889c680380a75b5488d50ff4839da75bc488d5801e98cefd1ff488d70ffeb0a803e0d750548ffc6eb9331c9488d040e48394002749e6681380d0a7407ffc183f90b72e883ce01e9ecefd1ff'],
  // The fallback buffer's fence (rdi: its data, eax: its length; rcx is free): `movl $0,0x28(%rsp);
  // mov %eax,%esi; movb $0xd,(%rdi,%rsi); lea 1(%rax),%ecx; movb $0x61,(%rdi,%rcx); xor %ebx,%ebx`
  // -> `andl $0,0x28(%rsp); mov %eax,%esi; lea (%rdi,%rsi),%rcx; movw $0x610d,(%rcx); mov
  // %rcx,2(%rcx); xor %ebx,%ebx; nop`.
  [0xf1238, 'c74424280000000089c6c604370d8d4801c6040f6131db', '836424280089c6488d0c3766c7010d614889490231db90'],
  // The read buffer's (r14: the data, ebp: its length; rax is set again before it is read):
  // `movl $0,0x5c(%rsp); mov %ebp,%eax; movb $0xd,(%r14,%rax); lea 1(%rbp),%eax; movb
  // $0x61,(%r14,%rax)` -> `andl $0,0x5c(%rsp); mov %ebp,%eax; add %r14,%rax; movw $0x610d,(%rax);
  // mov %rax,2(%rax); nopl 0(%rax)`.
  [0xf164b, 'c744245c0000000089e841c604060d8d450141c6040661', '8364245c0089e84c01f066c7000d61488940020f1f4000'],
];
/** Each known state of the file, and the edits that lead from it to the next. */
const STAGES = [[ORIGINAL, HEADER_EDITS], [HEADERS_MENDED, CHUNK_EDITS], [SIZE_MENDED, TERM_EDITS], [TERM_MENDED, UPGRADE_EDITS],
  [UPGRADE_MENDED, HEAD_EDITS], [HEAD_MENDED, CLOSE_CODE_EDITS],
  [CLOSE_MENDED, DIGIT_EDITS], [DIGIT_MENDED, HTTP10_EDITS], [HTTP10_MENDED, HOSTLESS_EDITS],
  [HOSTLESS_MENDED, EXPECT_EDITS], [EXPECT_MENDED, [...ABSOLUTE_EDITS, ...parserErrorEdits()]],
  [ABSOLUTE_MENDED, STRAY_EDITS], [STRAY_MENDED, FENCE_EDITS]];

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
  const from = STAGES.findIndex(([hash]) => hash === now);
  if (from !== -1) {
    for (const [, edits] of STAGES.slice(from)) apply(bytes, edits);
    if (sha(bytes) !== MENDED) throw new Error('patch-uws: the mended binary is not the expected one; nothing written');
    writeFileSync(`${FILE}.tmp`, bytes);
    renameSync(`${FILE}.tmp`, FILE); // a gateway loading it meanwhile sees one whole file or the other
    console.log('setup: uWebSockets.js mended: request header values keep a non-ASCII character at either end; a chunk size is hex digits (0-9, A-F, a-f) up to CRLF, nothing else (no chunk extension); chunk data ends with CRLF; an upgrade outside a cork is quiet; an empty write sends a streamed head; a client may close with 1012-1014 and 3000-3999; HTTP/1.0 is served, with or without Host, and gets no 100 Continue; an HTTP/1.1 request without any header is answered 400; absolute-form targets are served; the parser\'s own refusals are JSON errors with a code; a malformed head is refused at once (one holding CR \'a\' too) and empty lines before a request are skipped (scripts/patch-uws.mjs)');
  } else if (now !== MENDED) {
    console.log('setup: uWebSockets.js is not the build scripts/patch-uws.mjs knows: request header values may lose a non-ASCII character at either end, chunk sizes are read leniently (a chunk extension as part of the size), the CRLF after chunk data is not checked, each WebSocket upgrade prints a warning, a streamed head waits for its first body byte, a close from the client with 1012-1014 or 3000-3999 is refused, HTTP/1.0 and absolute-form targets are refused (505), the parser\'s own refusals are HTML pages without a code, and a malformed head waits unanswered for the idle timeout (docs/gateway.md)');
  }
}
