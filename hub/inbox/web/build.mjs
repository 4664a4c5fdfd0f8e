// Bundles src/ into ../static: inbox.js (small, on every page) and, split
// out, the OpenPGP.js code loaded when a key is unlocked (chunks/, named by
// content hash). Deterministic: CI rebuilds and checks nothing changed.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../static/', import.meta.url));
rmSync(out + 'inbox.js', { force: true });
rmSync(out + 'chunks', { recursive: true, force: true });

await build({
  entryPoints: { inbox: 'src/inbox.js' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  charset: 'utf8',
  legalComments: 'eof',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
