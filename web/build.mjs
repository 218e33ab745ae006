// Builds the app into dist/ (which the API embeds and serves at /app/):
//
//   dist/index.html            the one page, naming the hashed entry and CSS
//   dist/assets/*-HASH.{js,css} the bundle: entry, shared chunks, lazy areas
//   dist/manifest.webmanifest, dist/icons/*  copied from public/, plus PNG
//                              icons drawn here (no binaries in the repo)
//   dist/sw.js                 the service worker, with the shell's files
//
// and fails when the JavaScript a first load of the dashboard fetches is
// over budget. Run with `npm run build`.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = dirname(fileURLToPath(import.meta.url));
const DIST = join(ROOT, 'dist');
const ASSETS = join(DIST, 'assets');
const BASE = '/app';
/** Gzipped bytes of JavaScript a first load of the dashboard may fetch. */
const BUDGET_GZ = 150 * 1024;
const THEME = '#1d4ed8';

const TARGET = ['es2022', 'chrome109', 'edge109', 'firefox115', 'safari16'];

// ---------------------------------------------------------------- the bundle

rmSync(DIST, { recursive: true, force: true });
mkdirSync(ASSETS, { recursive: true });

const app = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'src/main.tsx', app: 'src/styles/app.css' },
  outdir: ASSETS,
  bundle: true,
  format: 'esm',
  splitting: true,
  minify: true,
  sourcemap: 'linked',
  target: TARGET,
  charset: 'utf8',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  publicPath: `${BASE}/assets`,
  metafile: true,
  logLevel: 'warning',
});

const outputs = app.metafile.outputs;
/** dist-relative output path → its metafile entry. */
const byPath = new Map(Object.entries(outputs).map(([path, meta]) => [relative(DIST, join(ROOT, path)), meta]));

function outputFor(entryPoint, ext) {
  for (const [path, meta] of byPath) if (meta.entryPoint === entryPoint && path.endsWith(ext)) return path;
  throw new Error(`no ${ext} output for ${entryPoint}`);
}

const mainJs = outputFor('src/main.tsx', '.js');
const appCss = outputFor('src/styles/app.css', '.css');

/** An output and every chunk it imports statically, transitively. */
function staticClosure(path, seen = new Set()) {
  if (seen.has(path)) return seen;
  seen.add(path);
  for (const imp of byPath.get(path)?.imports ?? []) {
    if (imp.kind === 'import-statement') staticClosure(relative(DIST, join(ROOT, imp.path)), seen);
  }
  return seen;
}

const url = (path) => `${BASE}/${path.split('\\').join('/')}`;

// ---------------------------------------------------------------- public/, icons

cpSync(join(ROOT, 'public'), DIST, { recursive: true });

/** CRC-32 of PNG chunks (ISO 3309). */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * The icon as a PNG: the theme's blue, full bleed (so it also serves as a
 * maskable icon), and the white shopping bag of icon.svg inside the safe
 * zone, drawn in the SVG's 512-unit space with 4×4 supersampling.
 */
function iconPng(size) {
  const bg = [0x1d, 0x4e, 0xd8];
  const inBag = (x, y) => {
    // The bag: a trapezoid from (144,200)-(368,200) to (164,384)-(348,384).
    if (y >= 200 && y <= 384) {
      const t = (y - 200) / 184;
      if (x >= 144 + 20 * t && x <= 368 - 20 * t) return true;
    }
    // The handle: an arch of radius 56 around (256,176), 28 thick, on two legs.
    const d = Math.hypot(x - 256, y - 176);
    if (y <= 176 && d >= 42 && d <= 70) return true;
    if (y >= 176 && y <= 200 && (Math.abs(x - 200) <= 14 || Math.abs(x - 312) <= 14)) return true;
    return false;
  };
  const scale = 512 / size;
  const rows = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 3); // filter byte 0: none
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++)
        for (let sx = 0; sx < 4; sx++) if (inBag((px + (sx + 0.5) / 4) * scale, (py + (sy + 0.5) / 4) * scale)) hits++;
      const a = hits / 16;
      for (let c = 0; c < 3; c++) row[1 + px * 3 + c] = Math.round(bg[c] * (1 - a) + 255 * a);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolor RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync(join(DIST, 'icons'), { recursive: true });
for (const size of [192, 512]) writeFileSync(join(DIST, 'icons', `icon-${size}.png`), iconPng(size));

// ---------------------------------------------------------------- index.html

const preloads = [...staticClosure(mainJs)].filter((p) => p !== mainJs);
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Shopfleet for store staff: today's sales, orders and live activity of your stores.">
<meta name="theme-color" content="${THEME}">
<title>Shopfleet</title>
<link rel="manifest" href="${BASE}/manifest.webmanifest">
<link rel="icon" href="${BASE}/icons/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="${BASE}/icons/icon-192.png">
<link rel="stylesheet" href="${url(appCss)}">
${preloads.map((p) => `<link rel="modulepreload" href="${url(p)}">`).join('\n')}
<script type="module" src="${url(mainJs)}"></script>
</head>
<body>
<div id="root"><main class="boot"><p>Loading Shopfleet…</p></main></div>
<noscript><p class="boot">Shopfleet needs JavaScript to run.</p></noscript>
</body>
</html>
`.replace(/\n\n/g, '\n');
writeFileSync(join(DIST, 'index.html'), html);

// ---------------------------------------------------------------- sw.js

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const shellAssets = filesUnder(ASSETS)
  .map((p) => relative(DIST, p))
  .filter((p) => p.endsWith('.js') || p.endsWith('.css'))
  .sort();
const precache = [
  `${BASE}/`,
  `${BASE}/manifest.webmanifest`,
  ...filesUnder(join(DIST, 'icons')).map((p) => url(relative(DIST, p))).sort(),
  ...shellAssets.map(url),
];
// The version changes whenever any shell file does, so a release installs a new cache.
const version = createHash('sha256');
for (const file of ['index.html', 'manifest.webmanifest', ...shellAssets]) version.update(readFileSync(join(DIST, file)));
for (const entry of precache) version.update(entry);

await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ['src/sw/sw.ts'],
  outfile: join(DIST, 'sw.js'),
  bundle: true,
  format: 'iife',
  minify: true,
  target: TARGET,
  define: {
    __PRECACHE__: JSON.stringify(precache),
    __VERSION__: JSON.stringify(version.digest('hex').slice(0, 16)),
  },
  logLevel: 'warning',
});

// ---------------------------------------------------------------- budget

const gz = (path) => gzipSync(readFileSync(join(DIST, path))).length;
const staffJs = outputFor('src/staff/area.tsx', '.js');
const chartJs = outputFor('src/staff/dashboard/chart.ts', '.js');
const firstLoad = staticClosure(mainJs);
const dashboard = new Set([...firstLoad, ...staticClosure(staffJs), ...staticClosure(chartJs)]);
const sum = (paths) => [...paths].reduce((n, p) => n + gz(p), 0);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log('JavaScript, gzipped:');
for (const p of [...dashboard].sort()) console.log(`  ${p.padEnd(40)} ${kb(gz(p))}`);
console.log(`  index.html imports (first paint):   ${kb(sum(firstLoad))}`);
console.log(`  dashboard's first load in all:      ${kb(sum(dashboard))}  (budget ${kb(BUDGET_GZ)})`);
console.log(`CSS, gzipped: ${appCss} ${kb(gz(appCss))}`);
console.log(`Service worker precaches ${precache.length} files.`);
if (sum(dashboard) > BUDGET_GZ) {
  console.error(`error: the dashboard's first load is ${kb(sum(dashboard))} of JavaScript, over the ${kb(BUDGET_GZ)} budget`);
  process.exit(1);
}

// ---------------------------------------------------------------- precompressed copies

// The API sends `<file>.gz` to browsers that accept gzip, so it compresses
// nothing per request (docs: api/src/web_app.rs).
const COMPRESSIBLE = ['.html', '.js', '.css', '.webmanifest', '.svg'];
for (const path of filesUnder(DIST)) {
  if (COMPRESSIBLE.some((ext) => path.endsWith(ext))) writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
}
