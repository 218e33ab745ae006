// The npm half of `make deny`: the licenses of every npm package the
// repository installs, in web/ (the staff web app) and bench/web/ (the web
// benchmark), from each package-lock.json and, where installed, each
// node_modules/**/package.json. No dependencies: Node.js 20+ alone.
//
//   node web/scripts/licenses.mjs           check: every license is allowed,
//                                           node_modules agrees with the lockfile,
//                                           and docs/licenses.md is up to date
//   node web/scripts/licenses.mjs --write   regenerate docs/licenses.md
//
// Options for experiments: --root DIR (a copy of the repository), --listing FILE.
//
// npm advisories are NOT checked here: there is no offline advisory database
// for npm on the machines the tests run on (see docs/quality.md, "Dependencies").
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Licenses allowed for what ships in the app (bundled into web/dist). */
const SHIPPED = new Set([
  'MIT',
  'ISC',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'Apache-2.0',
]);

/** Licenses allowed for build, test and benchmark tools, which never ship. */
const TOOLS = new Set([
  ...SHIPPED,
  // Permissive (graceful-fs, through Lighthouse in the benchmark).
  'BlueOak-1.0.0',
  // File-level copyleft: axe-core, run by the browser tests and the benchmark
  // against the app, unmodified and never bundled. Not allowed in SHIPPED.
  'MPL-2.0',
]);

/**
 * Packages whose metadata names no SPDX license, with the license read from
 * the package's own LICENSE file. Keyed by name@version so that a new version
 * is looked at again.
 */
const DECLARED = {
  'parse-cache-control@1.0.1': {
    license: 'BSD-3-Clause',
    reason:
      'package.json has only the legacy `licenses: [{ type: "BSD" }]`; its LICENSE file is the 3-clause BSD text (from hapi\'s wreck). Lighthouse, benchmark only.',
  },
};

/** The npm projects, relative to the repository root. */
const PROJECTS = [
  { dir: 'web', title: 'web/ (the staff web app)' },
  { dir: 'bench/web', title: 'bench/web/ (the web benchmark, `make bench-web`)' },
];

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROOT = opt('--root') ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LISTING = opt('--listing') ?? join(ROOT, 'docs', 'licenses.md');
const WRITE = args.includes('--write');

const errors = [];

// ------------------------------------------------------------ SPDX expressions

/** Whether an SPDX expression (`MIT`, `(MIT OR Apache-2.0)`, `A AND B`) is allowed. */
function allowed(expression, allow) {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const primary = () => {
    if (tokens[i] === '(') {
      i += 1;
      const value = or();
      if (tokens[i++] !== ')') throw new Error(`unbalanced parentheses in "${expression}"`);
      return value;
    }
    let id = tokens[i++];
    if (id === undefined) throw new Error(`incomplete license expression "${expression}"`);
    if (tokens[i] === 'WITH') {
      id = `${id} WITH ${tokens[i + 1]}`;
      i += 2;
    }
    return allow.has(id);
  };
  const and = () => {
    let value = primary();
    while (tokens[i] === 'AND') {
      i += 1;
      value = primary() && value;
    }
    return value;
  };
  const or = () => {
    let value = and();
    while (tokens[i] === 'OR') {
      i += 1;
      value = and() || value;
    }
    return value;
  };
  const value = or();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]}" in "${expression}"`);
  return value;
}

/** The license a package.json declares: `license`, or the legacy `licenses` array. */
function declared(manifest) {
  if (typeof manifest.license === 'string') return manifest.license;
  if (manifest.license && typeof manifest.license.type === 'string') return manifest.license.type;
  if (Array.isArray(manifest.licenses) && manifest.licenses.length > 0) {
    return manifest.licenses.map((l) => (typeof l === 'string' ? l : l.type)).join(' OR ');
  }
  return undefined;
}

// ------------------------------------------------------------------ a project

/** Every package of one project: from its lockfile, checked against node_modules. */
function packagesOf({ dir }) {
  const base = join(ROOT, dir);
  const lockPath = join(base, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  if (lock.lockfileVersion < 2 || !lock.packages) {
    errors.push(`${dir}/package-lock.json: lockfileVersion ${lock.lockfileVersion}; npm 7+ writes 3`);
    return [];
  }
  const installed = existsSync(join(base, 'node_modules'));
  const out = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.link) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const id = `${name}@${entry.version}`;
    let license = entry.license;
    const manifestPath = join(base, path, 'package.json');
    let present = false;
    if (existsSync(manifestPath)) {
      present = true;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      if (manifest.version !== entry.version) {
        errors.push(
          `${dir}/${path}: ${manifest.version} installed, ${entry.version} locked; run \`npm ci\` in ${dir}/`,
        );
      }
      const mine = declared(manifest);
      if (license !== undefined && mine !== undefined && mine !== license) {
        errors.push(`${dir}/${path}: package.json says "${mine}", package-lock.json "${license}"`);
      }
      license ??= mine;
    } else if (installed && !entry.optional) {
      errors.push(`${dir}/${path}: locked but not installed; run \`npm ci\` in ${dir}/`);
    }
    let note = '';
    const fixed = DECLARED[id];
    if (fixed) {
      license = fixed.license;
      note = 'license from its LICENSE file';
    }
    out.push({
      name,
      version: entry.version,
      license,
      shipped: !entry.dev,
      optional: Boolean(entry.optional),
      present,
      id,
      where: `${dir}/${path}`,
      note,
    });
  }
  if (installed) extraneous(base, dir, lock.packages);
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Installed packages the lockfile does not name (a stale or hand-made node_modules). */
function extraneous(base, dir, locked) {
  const walk = (rel) => {
    const nm = join(base, rel, 'node_modules');
    if (!existsSync(nm)) return;
    for (const entry of readdirSync(nm, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const names = entry.name.startsWith('@')
        ? readdirSync(join(nm, entry.name)).map((n) => `${entry.name}/${n}`)
        : [entry.name];
      for (const name of names) {
        const path = relative(base, join(nm, name));
        if (!(path in locked)) errors.push(`${dir}/${path}: installed but not in package-lock.json; run \`npm ci\` in ${dir}/`);
        else walk(path);
      }
    }
  };
  walk('');
}

// -------------------------------------------------------------------- listing

function listing(projects) {
  const lines = [
    '# Third-party npm packages and their licenses',
    '',
    '<!-- Generated by `node web/scripts/licenses.mjs --write` from the package-lock.json files;',
    '     `make deny` fails when this file is out of step with them. Do not edit by hand. -->',
    '',
    'Every npm package the repository installs, with its version and license, from',
    '`web/package-lock.json` and `bench/web/package-lock.json`. The Rust crates\'',
    'licenses are checked by cargo-deny (`deny.toml`); how both checks work, and',
    'what they do not cover, is in [quality.md](quality.md#dependencies).',
    '',
  ];
  for (const { project, packages } of projects) {
    const groups =
      project.dir === 'web'
        ? [
            [
              'Shipped in the app',
              'Bundled by esbuild into `web/dist`, which the API binary embeds and serves at `/app/`.',
              packages.filter((p) => p.shipped),
            ],
            [
              'Build and test tools (never shipped)',
              'The bundler, the type checker, and what the browser tests drive. Packages marked *optional* are platform binaries: npm installs only the one for the machine.',
              packages.filter((p) => !p.shipped),
            ],
          ]
        : [['Benchmark tools (never shipped)', 'Installed only by `make bench-web`.', packages]];
    lines.push(`## ${project.title}`, '');
    for (const [title, text, list] of groups) {
      lines.push(`### ${title}`, '', text, '', '| package | version | license |', '| --- | --- | --- |');
      for (const p of list) {
        const notes = [p.optional ? '*optional*' : '', p.note].filter(Boolean).join('; ');
        lines.push(`| ${p.name} | ${p.version} | ${p.license ?? '(none)'}${notes ? ` (${notes})` : ''} |`);
      }
      lines.push('');
    }
    const counts = new Map();
    for (const p of packages) counts.set(p.license, (counts.get(p.license) ?? 0) + 1);
    const summary = [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
    lines.push(
      `${packages.length} packages: ${summary.map(([l, n]) => `${l} ${n}`).join(', ')}.`,
      '',
    );
  }
  lines.push(
    '## Exceptions',
    '',
    'Packages whose metadata names no SPDX license, with what their LICENSE file says:',
    '',
  );
  for (const [id, { license, reason }] of Object.entries(DECLARED)) lines.push(`- \`${id}\`: ${license}. ${reason}`);
  lines.push('');
  return lines.join('\n');
}

// ----------------------------------------------------------------------- main

const projects = PROJECTS.map((project) => ({ project, packages: packagesOf(project) }));

for (const { packages } of projects) {
  for (const p of packages) {
    const allow = p.shipped && p.where.startsWith('web/') ? SHIPPED : TOOLS;
    const kind = allow === SHIPPED ? 'shipped in the app' : 'a tool';
    if (p.license === undefined) {
      errors.push(`${p.where}: ${p.id} declares no license; read its LICENSE and add it to DECLARED in web/scripts/licenses.mjs`);
      continue;
    }
    let ok;
    try {
      ok = allowed(p.license, allow);
    } catch (err) {
      errors.push(`${p.where}: ${p.id}: ${err.message}`);
      continue;
    }
    if (!ok) {
      errors.push(
        `${p.where}: ${p.id} is "${p.license}", not allowed for ${kind} (allowed: ${[...allow].join(', ')})`,
      );
    }
  }
}

const text = listing(projects);
if (WRITE) {
  writeFileSync(LISTING, text);
  console.log(`wrote ${relative(process.cwd(), LISTING) || LISTING}`);
} else if (!existsSync(LISTING) || readFileSync(LISTING, 'utf8') !== text) {
  errors.push(
    `${relative(ROOT, LISTING)} is out of step with the lockfiles; run \`node web/scripts/licenses.mjs --write\` and commit it`,
  );
}

const total = projects.reduce((n, { packages }) => n + packages.length, 0);
if (errors.length > 0) {
  for (const e of errors) console.error(`error: ${e}`);
  console.error(`npm licenses: FAILED (${errors.length} problem${errors.length === 1 ? '' : 's'} in ${total} packages)`);
  process.exit(1);
}
console.log(
  `npm licenses: OK (${projects.map(({ project, packages }) => `${project.dir}: ${packages.length}`).join(', ')} packages, all allowed)`,
);
