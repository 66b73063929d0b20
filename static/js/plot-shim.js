// Observable Plot comes from npm as a classic (UMD) script that defines window.Plot. The import map
// points "@observablehq/plot" here so modules can `import Plot from "@observablehq/plot"`.
export default window.Plot;
