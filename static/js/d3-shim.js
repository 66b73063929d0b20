// d3 comes from npm as a classic (UMD) script that defines window.d3 (Observable Plot's build needs it
// as that global). The import map points "d3" here so modules can `import d3 from "d3"`.
export default window.d3;
