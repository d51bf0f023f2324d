/**
 * README.md's nginx block in front of the platform (ops round 5): without `client_max_body_size`
 * nginx refuses every body past 1 MiB with its own HTML 413, so a deploy of any file larger than
 * that (`PUT /api/v1/blobs/…`) and every call with such a body failed through the proxy, while the
 * platform takes up to its own limits. The block's limit must let the largest body the API takes
 * by default through, and a WebSocket handshake.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { uploadBodyLimit } from '../../controlplane/api/code.js';
import { loadConfig } from '../../platform/config.js';
import { repoPath } from '../helpers/runtime-process.js';

const README = readFileSync(repoPath('README.md'), 'utf8');

/** The nginx `server { … }` block of README's "Production mode". */
function nginxBlock(): string {
  const block = /```nginx\n([\s\S]*?)```/.exec(README)?.[1];
  assert.ok(block, 'README.md has an nginx block');
  return block;
}

/** nginx's size syntax: `70m`, `1024k`, `1g`, plain bytes. */
function nginxBytes(size: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(size);
  assert.ok(m, `an nginx size: ${size}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

describe('docs: the reverse proxy in README.md', () => {
  it('sets client_max_body_size to at least the largest body the platform takes by default (a bundle as JSON, a call body)', () => {
    const size = /^\s*client_max_body_size\s+(\S+);/m.exec(nginxBlock())?.[1];
    assert.ok(size !== undefined, 'the nginx block sets client_max_body_size (its default, 1m, refuses deploys of files past 1 MiB)');
    const config = loadConfig({});
    const largest = Math.max(
      uploadBodyLimit({ maxTotalBytes: config.maxBundleBytes, maxFiles: config.maxBundleFiles }),
      config.maxFileBytes,
      config.maxBodyBytes,
    );
    assert.ok(nginxBytes(size) >= largest, `client_max_body_size ${size} (${nginxBytes(size)} bytes) is below the platform's largest body, ${largest} bytes`);
  });

  it('passes a WebSocket handshake on (Upgrade, and Connection from a map that keeps pooled connections for other calls)', () => {
    // Before (ops round 5) the block set `Connection ""` alone: a function's WebSocket route got a
    // plain GET through the proxy and answered 404.
    const block = nginxBlock();
    assert.match(block, /^\s*proxy_set_header Upgrade \$http_upgrade;/m);
    assert.match(block, /^\s*proxy_set_header Connection \$connection_upgrade;/m);
    assert.match(block, /^map \$http_upgrade \$connection_upgrade \{ default upgrade; '' ''; \}/m, "the map sends Connection '' (keep-alive) when the call is no upgrade");
  });
});
