// Product code never depends on test tooling, checked by scripts/test.sh after the build:
// no package under services/ or tools/ (what ships in the images, and the quick start users
// run) lists a test library among its dependencies, nor does any workspace library those
// reach at run time, and none of their compiled files (dist/) requires one (node would find
// the root's devDependencies even where a package does not list them).
// Usage: node scripts/check-product-dependencies.mjs [repository root]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const TEST_TOOLING = ['@ocireg/testenv', '@ocireg/devstack', 'testcontainers', 'vitest'];
const PRODUCT_DIRS = ['services', 'tools'];
const WORKSPACE_DIRS = ['libs', 'services', 'tools'];
const RUNTIME_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'];

const root = path.resolve(process.argv[2] ?? '.');
const packagesIn = (dir) =>
  existsSync(path.join(root, dir))
    ? readdirSync(path.join(root, dir))
        .map((name) => path.join(dir, name))
        .filter((pkg) => existsSync(path.join(root, pkg, 'package.json')))
    : [];
const manifest = (pkg) => JSON.parse(readFileSync(path.join(root, pkg, 'package.json'), 'utf8'));
const workspace = new Map(WORKSPACE_DIRS.flatMap(packagesIn).map((pkg) => [manifest(pkg).name, pkg]));

const problems = [];
const checked = new Set();
/** `chain`: how a product package reaches `pkg`. Its own package lists devDependencies too (the quick start runs with them). */
function check(pkg, chain, fields) {
  if (checked.has(pkg)) return;
  checked.add(pkg);
  const json = manifest(pkg);
  for (const field of fields) {
    for (const dependency of Object.keys(json[field] ?? {})) {
      if (TEST_TOOLING.includes(dependency)) problems.push(`${[...chain, pkg].join(' -> ')} lists ${dependency} in ${field}`);
    }
  }
  for (const file of compiledFiles(path.join(root, pkg, 'dist'))) {
    const source = readFileSync(file, 'utf8');
    for (const dependency of TEST_TOOLING) {
      if (source.includes(`require("${dependency}")`) || source.includes(`require('${dependency}')`) || new RegExp(`from ['"]${dependency}['"]`).test(source)) {
        problems.push(`${path.relative(root, file)} (${[...chain, pkg].join(' -> ')}) requires ${dependency}`);
      }
    }
  }
  for (const field of RUNTIME_FIELDS) {
    for (const dependency of Object.keys(json[field] ?? {})) {
      const lib = workspace.get(dependency);
      if (lib && !TEST_TOOLING.includes(dependency)) check(lib, [...chain, pkg], RUNTIME_FIELDS);
    }
  }
}

function compiledFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(c|m)?js$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

const products = PRODUCT_DIRS.flatMap(packagesIn);
const unbuilt = products.filter((pkg) => !existsSync(path.join(root, pkg, 'dist')));
if (unbuilt.length > 0) {
  console.log(`product dependencies: ${unbuilt.join(', ')} not built; run pnpm build first`);
  process.exit(1);
}
for (const pkg of products) check(pkg, [], [...RUNTIME_FIELDS, 'devDependencies']);
if (problems.length > 0) {
  console.log(`product dependencies: product code depends on test tooling (${TEST_TOOLING.join(', ')}):`);
  for (const problem of problems) console.log(`  ${problem}`);
  process.exit(1);
}
console.log(`product dependencies: ${products.length} packages under ${PRODUCT_DIRS.join('/ and ')}/ and the ${checked.size - products.length} libraries they use depend on no test tooling`);
