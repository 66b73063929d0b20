// Leaflet comes from django-leaflet, whose build is a classic (UMD) script that defines window.L.
// The import map points "leaflet" here so modules can `import L from "leaflet"`.
export default window.L;
