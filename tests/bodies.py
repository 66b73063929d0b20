"""What the write tests post: an incident as the API's GeoJSON Feature, and as the admin's change form."""

import json

ADMIN_INLINES = ["involvements", "casualties", "links_out", "links_in"]


def incident_feature(source, **properties) -> dict:
    """A rocket attack on Ayn al-Asad citing `source` (a Source or its id), as POST /api/v1/incidents/ takes it."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [42.4412, 33.7856]},
        "properties": {
            "occurred_on": "2021-03-03",
            "kind": "rocket_attack",
            "title": "Ten rockets on Ayn al-Asad",
            "sources": [getattr(source, "pk", source)],
            **properties,
        },
    }


def admin_incident_form(source, **overrides) -> dict:
    """The same attack as the admin's add form posts it, with every inline empty."""
    data = {
        "occurred_on": "2021-03-03",
        "date_precision": "1",
        "kind": "rocket_attack",
        "title": "Ten rockets hit Ayn al-Asad",
        "summary": "Rockets struck the base.",
        "attribution": "assessed",
        "location": json.dumps({"type": "Point", "coordinates": [42.4412, 33.7856]}),
        "geo_precision": "1",
        "place_name": "Ayn al-Asad",
        "country": "IRQ",
        "admin1": "Anbar",
        "base": "",
        "weapon": "rockets",
        "munitions": "10",
        "sources": [str(getattr(source, "pk", source))],
        "status": "published",
        "dataset": "",
        "external_id": "",
    }
    for prefix in ADMIN_INLINES:
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
        data |= {f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    return data | overrides
