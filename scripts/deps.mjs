// Prints the import graph between the folders of src/: each folder -> folder edge with the
// files that make it, so a change in layering can be read before it is written into lint.mjs.
//   node scripts/deps.mjs [ROOT]          folder -> folder, with importing files
//   node scripts/deps.mjs [ROOT] --short  folder -> folders only
import { crossFolderImports } from './imports.mjs';

const args = process.argv.slice(2);
const short = args.includes('--short');
const root = args.find((a) => !a.startsWith('--')) ?? new URL('..', import.meta.url).pathname;

const graph = new Map();
for (const edge of crossFolderImports(root)) {
  const targets = graph.get(edge.from) ?? new Map();
  const files = targets.get(edge.to) ?? new Set();
  files.add(`${edge.file} (${edge.specifier})`);
  targets.set(edge.to, files);
  graph.set(edge.from, targets);
}

for (const from of [...graph.keys()].sort()) {
  const targets = graph.get(from);
  const names = [...targets.keys()].sort();
  console.log(`${from} -> ${names.join(', ')}`);
  if (short) continue;
  for (const to of names) {
    console.log(`  ${from} -> ${to}`);
    for (const file of [...targets.get(to)].sort()) console.log(`    ${file}`);
  }
}
