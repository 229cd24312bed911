// `npm run bench`: runs every bench/*.bench.ts in name order. Each file exports `run()`, starts the
// real servers it needs, and prints its own side-by-side table, so figures of one run compare.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  // Sources under tsx, or compiled under dist/ (how `npm run bench` runs them).
  .filter((f) => /\.bench\.[jt]s$/.test(f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.bench\.[jt]s$/, '')} ===`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run: () => Promise<void> };
  await mod.run();
}
process.exit(0);
