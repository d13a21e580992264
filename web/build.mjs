// Builds the console into dist/: the source files as they are (plain ES
// modules need no bundling) and uPlot from node_modules under vendor/.
// Written to a temporary directory and renamed, so dist/ is never half built.
import { cpSync, mkdirSync, rmSync, renameSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = join(here, 'dist.tmp');
const dist = join(here, 'dist');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
cpSync(join(here, 'src'), tmp, { recursive: true });
const uplot = join(here, 'node_modules', 'uplot', 'dist');
if (!existsSync(uplot)) {
  console.error('web/build.mjs: node_modules/uplot is missing: run `npm ci` in web/ first (scripts/build-web.sh does)');
  process.exit(1);
}
// dist/ is flat (the server serves /console/<file>).
cpSync(join(uplot, 'uPlot.esm.js'), join(tmp, 'uPlot.esm.js'));
cpSync(join(uplot, 'uPlot.min.css'), join(tmp, 'uPlot.min.css'));
rmSync(dist, { recursive: true, force: true });
renameSync(tmp, dist);
console.log('web/dist built');
