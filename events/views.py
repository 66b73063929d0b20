from functools import cache
from pathlib import Path

import pycountry
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from posture.countries import country_name


@cache
def dashboard_modules() -> list[str]:
    """The ES modules of the page (static/js, and topojson-client's src) for <link rel="modulepreload">:
    without them the browser discovers the module graph one import level at a time."""
    static_dir = Path(settings.STATICFILES_DIRS[0])
    modules = sorted(static_dir.glob("js/*.js")) + sorted(static_dir.glob("vendor/topojson-client/src/*.js"))
    # admin-borders.js is a classic script for the admin, and workers load in their own module map.
    return [
        str(path.relative_to(static_dir))
        for path in modules
        if path.name != "admin-borders.js" and not path.name.endswith("-worker.js")
    ]


def dashboard(request: HttpRequest) -> HttpResponse:
    """The map-and-timeline page. It reads everything it shows from the public API; this view only
    hands it configuration (through json_script, never interpolated into JavaScript)."""
    leaflet = settings.LEAFLET_CONFIG
    config = {
        "apiBase": "/api/v1/",
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "center": list(leaflet["DEFAULT_CENTER"]),
        "zoom": leaflet["DEFAULT_ZOOM"],
        "minZoom": leaflet["MIN_ZOOM"],
        "maxZoom": leaflet["MAX_ZOOM"],
        "bordersUrl": static("vendor/world-atlas/countries-50m.json"),
        # alpha-3 -> [numeric, name]: the borders dataset keys countries by ISO 3166-1 numeric code,
        # the API by alpha-3.
        "countries": {c.alpha_3: [c.numeric, country_name(c.alpha_3)] for c in pycountry.countries},
    }
    return render(request, "dashboard.html", {"dashboard_config": config, "dashboard_modules": dashboard_modules()})
