"""Incident Features as PostgreSQL builds them: the properties of a list item and of the detail, and pages."""

from __future__ import annotations

import json

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

from api.filters import PageRequest
from api.sql import FeatureSpec, Fragment, Page, feature_page, geometry, labels_json
from events.models import (
    KIND_CATEGORY,
    Casualty,
    Category,
    DatePrecision,
    Incident,
    IncidentLink,
    Involvement,
    Kind,
)
from ops.routers import read_connection

KIND_LABELS = labels_json((kind.value, kind.label) for kind in Kind)

KIND_CATEGORIES = labels_json((kind.value, KIND_CATEGORY[kind]) for kind in Kind)

CATEGORY_LABELS = labels_json((c.value, c.label) for c in Category)

DATE_PRECISIONS = labels_json((p.value, p.label) for p in DatePrecision)


def date_label(alias: str) -> str:
    """As Incident.date_label(): '2021-03-03', 'week of 2021-03-01', 'March 2021'."""
    return (
        f"CASE {alias}.date_precision"
        f" WHEN {DatePrecision.MONTH.value} THEN to_char({alias}.occurred_on, 'FMMonth YYYY')"
        f" WHEN {DatePrecision.WEEK.value} THEN 'week of ' || to_char({alias}.occurred_on, 'YYYY-MM-DD')"
        f" ELSE to_char({alias}.occurred_on, 'YYYY-MM-DD') END"
    )


# Attackers and targets by name, in one pass over the incident's involvements.
# Attackers and targets by name, for all the rows of `i` at once: one pass over their involvements grouped by
# incident, rather than a subquery per row (which rebuilt the actors' hash ten thousand times a page).
INVOLVED = Fragment(
    """LEFT JOIN (
        SELECT v.incident_id,
               json_agg(a.name ORDER BY a.name) FILTER (WHERE v.role = %s) AS attackers,
               json_agg(a.name ORDER BY a.name) FILTER (WHERE v.role = %s) AS targets
        FROM events_involvement v JOIN posture_actor a ON a.id = v.actor_id
        WHERE v.incident_id IN (SELECT id FROM i)
        GROUP BY v.incident_id
    ) AS inv ON inv.incident_id = i.id""",
    (Involvement.Role.ATTACKER.value, Involvement.Role.TARGET.value),
)


def incident_properties(*, detail: bool = False, extra: list | None = None) -> Fragment:
    """The properties of an incident Feature (alias i, base b, involvements inv; nearest base nb in detail)."""
    pairs: list[tuple[str, Fragment | str]] = [
        ("id", "i.id"),
        ("occurred_on", "i.occurred_on"),
        ("date_precision", DATE_PRECISIONS + " ->> i.date_precision::text"),
        ("date_label", date_label("i")),
        ("kind", "i.kind"),
        ("kind_label", KIND_LABELS + " ->> i.kind"),
        ("category", KIND_CATEGORIES + " ->> i.kind"),
        ("title", "i.title"),
        ("place_name", "i.place_name"),
        ("country", "i.country"),
        ("base", "i.base_id"),
        ("base_name", "b.name"),
        ("attackers", "coalesce(inv.attackers, '[]'::json)"),
        ("targets", "coalesce(inv.targets, '[]'::json)"),
        ("attribution", "i.attribution"),
        ("casualties_best", "i.casualties_best"),
        ("fatalities_best", "i.fatalities_best"),
        ("weapon", "i.weapon"),
        ("munitions", "i.munitions"),
        ("status", "i.status"),
    ]
    if detail:
        pairs += [
            ("summary", "i.summary"),
            ("geo_precision", "i.geo_precision"),
            ("admin1", "i.admin1"),
            ("nearest_base", "CASE WHEN nb.id IS NOT NULL THEN json_build_object('id', nb.id, 'name', nb.name) END"),
            ("nearest_base_km", "i.nearest_base_km"),
            ("dataset", "i.dataset"),
            ("external_id", "i.external_id"),
            ("created_at", "i.created_at"),
            ("updated_at", "i.updated_at"),
        ]
    pairs += extra or []
    # json_build_object takes at most 100 arguments; detail stays well below.
    args = Fragment.join(", ", [Fragment(f"'{name}', ") + value for name, value in pairs])
    return "json_build_object(" + args + ")"


def incident_feature(*, detail: bool = False, extra: list | None = None) -> Fragment:
    return (
        "json_build_object('type', 'Feature', 'id', i.id, 'geometry', "
        + geometry("i")
        + ", 'properties', "
        + incident_properties(detail=detail, extra=extra)
        + ")"
    )


INCIDENT_COLUMNS = [
    "id",
    "occurred_on",
    "date_precision",
    "kind",
    "title",
    "place_name",
    "country",
    "base_id",
    "attribution",
    "casualties_best",
    "fatalities_best",
    "weapon",
    "munitions",
    "status",
    "location",
]

INCIDENT_DETAIL_COLUMNS = [
    *INCIDENT_COLUMNS,
    "summary",
    "geo_precision",
    "admin1",
    "nearest_base_id",
    "nearest_base_km",
    "dataset",
    "external_id",
    "created_at",
    "updated_at",
]

INCIDENT_JOINS = Fragment("LEFT JOIN posture_base AS b ON b.id = i.base_id ") + INVOLVED

INCIDENT_DETAIL_JOINS = INCIDENT_JOINS + " LEFT JOIN posture_base AS nb ON nb.id = i.nearest_base_id"

INCIDENTS = FeatureSpec(alias="i", columns=INCIDENT_COLUMNS, feature=incident_feature(), joins=INCIDENT_JOINS)

CASUALTY_GROUPS = labels_json(Casualty.Group.choices)

CASUALTY_KINDS = labels_json(Casualty.Kind.choices)


def incident_relations_json(through_drafts: bool) -> list[tuple[str, Fragment | str]]:
    """actors, casualties, sources and links in and out of incident i, each one subquery of the same statement."""

    def links(end: str) -> Fragment:
        return (
            "(SELECT coalesce(json_agg("
            + link_json()
            + " ORDER BY lp.occurred_on, li.occurred_on, l.id), '[]'::json) FROM events_incidentlink l "
            "JOIN events_incident li ON li.id = l.incident_id JOIN events_incident lp ON lp.id = l.prior_id "
            + Fragment(f"WHERE l.{end} = i.id AND (%s OR (li.status = %s AND lp.status = %s)))", (
                through_drafts, Incident.Status.PUBLISHED.value, Incident.Status.PUBLISHED.value
            ))
        )  # fmt: skip

    return [
        (
            "actors",
            "(SELECT coalesce(json_agg(json_build_object('role', v.role, 'slug', a.slug, 'name', a.name) "
            "ORDER BY v.role, a.name), '[]'::json) FROM events_involvement v "
            "JOIN posture_actor a ON a.id = v.actor_id WHERE v.incident_id = i.id)",
        ),
        (
            "casualties",
            "(SELECT coalesce(json_agg(json_build_object('group', c.\"group\", 'group_label', "
            + CASUALTY_GROUPS
            + " ->> c.\"group\", 'kind', c.kind, 'kind_label', "
            + CASUALTY_KINDS
            + " ->> c.kind, 'low', c.low, 'best', c.best, 'high', c.high, 'note', c.note) "
            "ORDER BY c.\"group\", c.kind), '[]'::json) FROM events_casualty c WHERE c.incident_id = i.id)",
        ),
        (
            "sources",
            "(SELECT coalesce(json_agg(" + SOURCE_JSON + " ORDER BY s.publisher, s.title), '[]'::json) "
            "FROM events_incident_sources x JOIN posture_source s ON s.id = x.source_id WHERE x.incident_id = i.id)",
        ),
        ("links_out", links("incident_id")),
        ("links_in", links("prior_id")),
    ]


def incident_detail_feature(incidents: QuerySet, pk: int, *, through_drafts: bool) -> dict | None:
    """One incident as a Feature with everything hanging off it, in one statement; None if `incidents` lacks it.

    `through_drafts` says whether links to draft incidents may be shown (to editors only).
    """
    try:
        row = Fragment.of(incidents.filter(pk=pk).order_by().values(*INCIDENT_DETAIL_COLUMNS))
    except EmptyResultSet:  # an id beyond bigint: Django knows nothing can match
        return None
    feature = incident_feature(detail=True, extra=incident_relations_json(through_drafts))
    sql = "WITH i AS (" + row + ") SELECT " + feature + "::text FROM i " + INCIDENT_DETAIL_JOINS
    with read_connection().cursor() as cursor:
        cursor.execute(sql.sql, sql.params)
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def incident_page(
    incidents: QuerySet, page: PageRequest, *, count: bool = True, counted: Fragment | None = None
) -> Page:
    return feature_page(incidents, page, INCIDENTS, count=count, counted=counted)


RELATION_LABELS = labels_json(IncidentLink.Relation.choices)


def link_json() -> Fragment:
    """A link as LinkSerializer shows it on /api/v1/links/ (l the link, li its incident, lp its prior)."""
    ref = "json_build_object('id', {0}.id, 'title', {0}.title, 'occurred_on', {0}.occurred_on, 'kind', {0}.kind)"
    return (
        "json_build_object('id', l.id, 'relation', l.relation, 'relation_label', "
        + RELATION_LABELS
        + f" ->> l.relation, 'incident', {ref.format('li')}, 'prior', {ref.format('lp')}, "
        "'lag_days', li.occurred_on - lp.occurred_on, 'confidence', l.confidence, 'asserted_by', l.asserted_by, "
        "'note', l.note, 'sources', (SELECT coalesce(json_agg(" + SOURCE_JSON + " ORDER BY s.publisher, s.title), "
        "'[]'::json) FROM events_incidentlink_sources x JOIN posture_source s ON s.id = x.source_id "
        "WHERE x.incidentlink_id = l.id))"
    )


SOURCE_JSON = (
    "json_build_object('id', s.id, 'publisher', s.publisher, 'title', s.title, 'url', s.url, "
    "'published_on', s.published_on, 'reliability', s.reliability)"
)
