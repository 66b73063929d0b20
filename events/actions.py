"""Writes that span several models. The admin, the API, imports and commands all go through these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from posture.models import Actor, Source

from .models import Casualty, Incident, IncidentLink, Involvement


@dataclass
class CasualtyFigure:
    group: str
    kind: str
    low: int | None = None
    best: int | None = None
    high: int | None = None
    note: str = ""


@dataclass
class IncidentRelations:
    """The rows hanging off an incident. None leaves that part as it is on update."""

    actors: dict[str, Iterable[Actor]] | None = None  # role -> actors
    casualties: list[CasualtyFigure] | None = None
    sources: Iterable[Source] | None = None
    extra: dict = field(default_factory=dict)


def _replace_relations(incident: Incident, relations: IncidentRelations) -> None:
    if relations.sources is not None:
        incident.sources.set(relations.sources)
    if relations.actors is not None:
        incident.involvements.all().delete()
        Involvement.objects.bulk_create(
            Involvement(incident=incident, actor=actor, role=role)
            for role, actors in relations.actors.items()
            for actor in {a.pk: a for a in actors}.values()
        )
    if relations.casualties is not None:
        incident.casualties.all().delete()
        for figure in relations.casualties:
            casualty = Casualty(incident=incident, **figure.__dict__)
            casualty.full_clean(exclude=["incident"])
            casualty.save()


@transaction.atomic
def record_incident(*, fields: dict, relations: IncidentRelations, user=None) -> Incident:
    """Create an incident with its actors, casualties and sources, and its derived figures."""
    incident = Incident(**fields, created_by=user if user and user.is_authenticated else None)
    incident.save()
    _replace_relations(incident, relations)
    incident.refresh_derived()
    return incident


@transaction.atomic
def update_incident(incident: Incident, *, fields: dict, relations: IncidentRelations) -> Incident:
    for name, value in fields.items():
        setattr(incident, name, value)
    incident.save()
    _replace_relations(incident, relations)
    incident.refresh_derived()
    return incident


@transaction.atomic
def link_incidents(
    *,
    incident: Incident,
    prior: Incident,
    relation: str,
    asserted_by: str,
    confidence: str,
    sources: Iterable[Source],
    note: str = "",
) -> IncidentLink:
    """Link `incident` to the earlier `prior` it answers; re-linking the same pair updates the link."""
    link, _ = IncidentLink.objects.update_or_create(
        incident=incident,
        prior=prior,
        relation=relation,
        defaults={"asserted_by": asserted_by, "confidence": confidence, "note": note},
    )
    link.sources.set(sources)
    return link


@transaction.atomic
def update_link(link: IncidentLink, *, fields: dict, sources: Iterable[Source] | None = None) -> IncidentLink:
    """Change a link's ends, relation, confidence or note; None leaves the sources as they are."""
    for name, value in fields.items():
        setattr(link, name, value)
    link.save()
    if sources is not None:
        link.sources.set(sources)
    return link


@transaction.atomic
def unlink_incidents(link: IncidentLink) -> None:
    link.delete()


@transaction.atomic
def delete_incident(incident: Incident) -> None:
    """Delete an incident with its actors, casualties and links (they cascade; history keeps a record)."""
    incident.delete()
