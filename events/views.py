import pycountry
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from posture.countries import country_name


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
    return render(request, "dashboard.html", {"dashboard_config": config})
