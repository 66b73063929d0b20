"""Incident Features as PostgreSQL builds them: the properties of a list item and of the detail, and pages;
and an incident's chain."""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import EmptyResultSet
from django.db.models import F, QuerySet
from rest_framework import exceptions, status

from api.filters import PageRequest
from api.pages import FeatureSpec, Page, feature_page, fetch_prepared, geometry
from events.fragments import Fragment, labels_json
from events.models import (
    Casualty,
    Incident,
    IncidentLink,
)
from events.properties import INCIDENT_PROPERTIES, LIST_PROPERTIES, columns_of, properties, properties_json
from ops.routers import read_connection


def incident_feature(*, detail: bool = False, extra: list | None = None) -> Fragment:
    """An incident Feature over the row `i` (its base b; its nearest base nb in the detail)."""
    selected = INCIDENT_PROPERTIES if detail else LIST_PROPERTIES
    return (
        "json_build_object('type', 'Feature', 'id', i.id, 'geometry', "
        + geometry("i")
        + ", 'properties', "
        + properties_json(selected, extra)
        + ")"
    )


# A chain's steps: enough to place and name each one.
SUMMARY_PROPERTIES = properties("id", "title", "occurred_on", "date_label", "kind", "kind_label", "category")


def incident_summaries(incidents: QuerySet) -> list[dict]:
    """`incidents` in date order, as the chain lists its steps (the summary properties and coordinates)."""
    rows = Fragment.of(incidents.values(*columns_of(SUMMARY_PROPERTIES), "location"))
    coordinates = (
        "CASE WHEN i.location IS NOT NULL THEN json_build_array(round(ST_X(i.location)::numeric, 6), "
        "round(ST_Y(i.location)::numeric, 6)) END"
    )
    summary = properties_json(SUMMARY_PROPERTIES, [("coordinates", coordinates)])
    sql = (
        "SELECT coalesce(json_agg("
        + summary
        + " ORDER BY i.n), '[]')::text FROM (SELECT r.*, row_number() OVER () AS n FROM ("
        + rows
        + ") AS r) AS i"
    )
    with read_connection().cursor() as cursor:
        cursor.execute(sql.sql, sql.params)
        return json.loads(cursor.fetchone()[0])


def incident_chain(incidents: QuerySet, pk: int, *, through_drafts: bool, limit: int) -> dict:
    """The chain of incident `pk` among `incidents`: its steps in date order (at most `limit`, and whether the
    walk stopped there), and the links between them with their lag in days."""
    members = incidents.in_chain_of(pk, through_drafts=through_drafts, limit=limit).order_by("occurred_on", "id")
    steps = incident_summaries(members)
    # Asking for one more and dropping it here would drop the latest by date, which may be the incident
    # itself or the only step between two others; the walk's own first `limit` are connected. So a
    # chain that reached the limit is walked once more, one further, to tell whether it goes on.
    truncated = (
        len(steps) == limit
        and incidents.in_chain_of(pk, through_drafts=through_drafts, limit=limit + 1).count() > limit
    )
    dates = {row["id"]: dt.date.fromisoformat(row["occurred_on"]) for row in steps}
    links = (
        IncidentLink.objects.filter(incident_id__in=dates, prior_id__in=dates)
        .order_by(F("prior__occurred_on"), F("incident__occurred_on"), "id")
        .values("id", "incident_id", "prior_id", "relation", "confidence", "asserted_by")
    )
    relation_labels = dict(IncidentLink.Relation.choices)
    return {
        "incident": pk,
        "incidents": steps,
        "truncated": truncated,
        "links": [
            {
                "id": link["id"],
                "incident": link["incident_id"],
                "prior": link["prior_id"],
                "relation": link["relation"],
                "relation_label": relation_labels[link["relation"]],
                "lag_days": (dates[link["incident_id"]] - dates[link["prior_id"]]).days,
                "confidence": link["confidence"],
                "asserted_by": link["asserted_by"],
            }
            for link in links
        ],
    }


INCIDENT_COLUMNS = [*columns_of(LIST_PROPERTIES), "location"]
INCIDENT_DETAIL_COLUMNS = [*columns_of(INCIDENT_PROPERTIES), "location"]
INCIDENT_JOINS = Fragment("LEFT JOIN posture_base AS b ON b.id = i.base_id")
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
    row = fetch_prepared(read_connection(), sql.sql, sql.params)
    return json.loads(row[0]) if row else None


class Gone(exceptions.APIException):
    """A retracted incident's own URL, for anyone: its source withdrew it, and the body says why and when."""

    status_code = status.HTTP_410_GONE
    default_code = "gone"


def gone_if_retracted(pk: int) -> None:
    """Raise Gone if incident `pk` is retracted. Called once the visible incidents turned out to lack it, so
    an incident that is found costs no query more."""
    row = Incident.objects.retracted().filter(pk=pk).values_list("retracted_reason", "retracted_at").first()
    if row is not None:
        reason, retracted_at = row
        raise Gone(
            {
                "detail": f"Incident {pk} was retracted: {reason}.",
                "status": Incident.Status.RETRACTED.value,
                "reason": reason,
                "retracted_at": retracted_at,
            }
        )


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
        "WHERE x.incidentlink_id = l.id), 'warning', " + LINK_WARNING + ")"
    )


def _retracted_end(alias: str) -> str:
    described = f"'incident ' || {alias}.id || ' (' || {alias}.retracted_reason || ')'"
    return f"CASE WHEN {alias}.status = 'retracted' THEN {described} END"


# Null unless an end is retracted (only editors see such a link): LinkSerializer.get_warning's text.
LINK_WARNING = (
    "CASE WHEN 'retracted' IN (li.status, lp.status) THEN 'Retracted: ' || concat_ws('; ', "
    + _retracted_end("li")
    + ", "
    + _retracted_end("lp")
    + ") || '.' END"
)


def source_json(*, source_id: str = "s.id", build: str = "json_build_object") -> str:
    """A source `s` as an incident's Feature lists it; the public history builds it as jsonb, with the id it
    cited (api.changes: a source since deleted is its id alone)."""
    return (
        f"{build}('id', {source_id}, 'publisher', s.publisher, 'title', s.title, 'url', s.url, "
        "'published_on', s.published_on, 'reliability', s.reliability)"
    )


SOURCE_JSON = source_json()
