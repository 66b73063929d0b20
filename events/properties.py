"""The properties of an incident as every output shows them, declared once.

Each property has its name, the SQL expression that computes it and the JSON Schema of its value. The API's
Features (json_build_object), its CSV export (our own columns), the webhook payload and the OpenAPI
description are all built from this list, so a property is added or changed in one place.

Expressions read `i` (the incident's row, which holds at least `columns`), `b` (its targeted base) and, for
the detail, `nb` (its nearest base).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from events.fragments import Fragment, json_object, labels_json
from events.models import KIND_CATEGORY, Category, DatePrecision, Incident, Kind


@dataclass(frozen=True)
class Property:
    name: str
    sql: Fragment | str
    schema: dict
    columns: tuple[str, ...] = ()  # the incident's columns the expression reads (besides the joins)
    choices: type[models.Choices] | list[str] | None = None  # an enum, named in the schema as its own type
    description: str = ""
    detail: bool = False  # only on /api/v1/incidents/{id}/


def date_label(alias: str) -> str:
    """'2021-03-03', 'week of 2021-03-01', 'March 2021' or '2021', by the date's precision."""
    return (
        f"CASE {alias}.date_precision"
        f" WHEN {DatePrecision.YEAR.value} THEN to_char({alias}.occurred_on, 'YYYY')"
        f" WHEN {DatePrecision.MONTH.value} THEN to_char({alias}.occurred_on, 'FMMonth YYYY')"
        f" WHEN {DatePrecision.WEEK.value} THEN 'week of ' || to_char({alias}.occurred_on, 'YYYY-MM-DD')"
        f" ELSE to_char({alias}.occurred_on, 'YYYY-MM-DD') END"
    )


KIND_LABELS = labels_json((kind.value, kind.label) for kind in Kind)
KIND_CATEGORIES = labels_json((kind.value, KIND_CATEGORY[kind]) for kind in Kind)
DATE_PRECISIONS = labels_json((p.value, p.label) for p in DatePrecision)

INTEGER = {"type": "integer"}
TEXT = {"type": "string"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _column(name: str, schema: dict, column: str | None = None, **kwargs) -> Property:
    column = column or name
    return Property(name, f"i.{column}", schema, columns=(column,), **kwargs)


INCIDENT_PROPERTIES: list[Property] = [
    _column("id", INTEGER),
    _column("occurred_on", {"type": "string", "format": "date"}),
    Property(
        "date_precision",
        DATE_PRECISIONS + " ->> i.date_precision::text",
        TEXT,
        columns=("date_precision",),
        choices=[p.label for p in DatePrecision],
    ),
    Property(
        "date_label",
        date_label("i"),
        TEXT,
        columns=("occurred_on", "date_precision"),
        description="'2021-03-03', 'week of 2021-03-01', 'March 2021', or '2016' for a date known to the year.",
    ),
    _column("kind", TEXT, choices=Kind),
    Property("kind_label", KIND_LABELS + " ->> i.kind", TEXT, columns=("kind",)),
    Property("category", KIND_CATEGORIES + " ->> i.kind", TEXT, columns=("kind",), choices=Category),
    _column("title", TEXT),
    _column("place_name", TEXT),
    _column("country", TEXT, description="ISO 3166-1 alpha-3, or empty (at sea, regional)."),
    _column("base", _nullable(INTEGER), "base_id", description="The targeted base's id."),
    Property("base_name", "b.name", _nullable(TEXT)),
    Property("attackers", "to_json(i.attacker_names)", {"type": "array", "items": TEXT}, columns=("attacker_names",)),
    Property("targets", "to_json(i.target_names)", {"type": "array", "items": TEXT}, columns=("target_names",)),
    _column("attribution", TEXT, choices=Incident.Attribution),
    _column("casualties_best", INTEGER),
    _column("fatalities_best", INTEGER),
    _column("weapon", TEXT),
    _column("munitions", _nullable(INTEGER)),
    _column("status", TEXT, choices=Incident.Status, description="Drafts only reach editors."),
    _column("summary", TEXT, detail=True),
    _column("geo_precision", INTEGER, detail=True, description="1 exact, 2 near the named place, 3 region (ACLED)."),
    _column("admin1", TEXT, detail=True),
    Property(
        "nearest_base",
        "CASE WHEN nb.id IS NOT NULL THEN json_build_object('id', nb.id, 'name', nb.name) END",
        {"type": "object", "nullable": True, "properties": {"id": INTEGER, "name": TEXT}},
        columns=("nearest_base_id",),
        detail=True,
    ),
    _column("nearest_base_km", {"type": "number", "nullable": True}, detail=True),
    _column("dataset", TEXT, detail=True),
    _column("external_id", TEXT, detail=True),
    _column("created_at", {"type": "string", "format": "date-time"}, detail=True),
    _column("updated_at", {"type": "string", "format": "date-time"}, detail=True),
]
PROPERTIES = {p.name: p for p in INCIDENT_PROPERTIES}
LIST_PROPERTIES = [p for p in INCIDENT_PROPERTIES if not p.detail]


def properties(*names: str) -> list[Property]:
    return [PROPERTIES[name] for name in names]


def columns_of(selected: list[Property]) -> list[str]:
    """The incident's columns that `selected` read, in the order they first appear."""
    return list(dict.fromkeys(column for p in selected for column in p.columns))


def properties_json(selected: list[Property], extra: list[tuple[str, Fragment | str]] | None = None) -> Fragment:
    """The json_build_object of `selected` (and of `extra` pairs after them)."""
    return json_object([(p.name, p.sql) for p in selected] + (extra or []))
