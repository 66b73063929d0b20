// Copies the front-end libraries the dashboard uses from node_modules into static/vendor/ (git-ignored),
// so that Django serves them like any other static file: no bundler, no CDN, nothing third-party committed.
// Run by `scripts/dev install` after `npm ci`; safe to run again.
import { cpSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "static", "vendor");

// [package, path inside the package, path inside static/vendor]
const files = [
  // Native ES modules: the import map (and static/js/admin-borders.js) point at src/index.js.
  ["topojson-client", "src", "topojson-client/src"],
  ["topojson-client", "LICENSE", "topojson-client/LICENSE"],
  // Natural Earth 1:50m country polygons as TopoJSON: the offline basemap.
  ["world-atlas", "countries-50m.json", "world-atlas/countries-50m.json"],
  ["world-atlas", "LICENSE", "world-atlas/LICENSE"],
  // Classic (UMD) scripts that define window.d3 and window.Plot (Plot's build needs d3 as that global):
  // the page loads them with <script defer>, and js/d3-shim.js and js/plot-shim.js export them.
  ["d3", "dist/d3.min.js", "d3/d3.min.js"],
  ["d3", "LICENSE", "d3/LICENSE"],
  ["@observablehq/plot", "dist/plot.umd.min.js", "plot/plot.umd.min.js"],
  ["@observablehq/plot", "LICENSE", "plot/LICENSE"],
];

if (!existsSync(modules)) {
  console.error("copy-vendor: node_modules is missing; run `npm ci` first");
  process.exit(1);
}
rmSync(vendor, { recursive: true, force: true });
for (const [pkg, from, to] of files) {
  const source = join(modules, pkg, from);
  const target = join(vendor, to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true });
}
console.log(`copy-vendor: ${files.length} paths copied into static/vendor/`);
