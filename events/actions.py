"""Writes that span several models. The admin, the API, imports and commands all go through these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from posture.models import Actor, Base, Source

from . import bulk, notifications, tasks
from .models import Casualty, Incident, IncidentLink, Involvement

if TYPE_CHECKING:
    from .importing import ParsedIncident


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
        # Plain bulk_create would write no history rows, and every editorial change must have one.
        bulk_create_with_history(
            [
                Involvement(incident=incident, actor=actor, role=role)
                for role, actors in relations.actors.items()
                for actor in {a.pk: a for a in actors}.values()
            ],
            Involvement,
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
    if incident.status == Incident.Status.PUBLISHED:
        announce_publication([incident.pk])
    tasks.queue_after_commit(tasks.refresh_suggestions, [incident.pk])
    return incident


@transaction.atomic
def update_incident(incident: Incident, *, fields: dict, relations: IncidentRelations) -> Incident:
    was_published = incident.status == Incident.Status.PUBLISHED  # as loaded, before `fields`
    for name, value in fields.items():
        setattr(incident, name, value)
    incident.save()
    _replace_relations(incident, relations)
    incident.refresh_derived()
    if incident.status == Incident.Status.PUBLISHED and not was_published:
        announce_publication([incident.pk])
    tasks.queue_after_commit(tasks.refresh_suggestions, [incident.pk])
    return incident


@transaction.atomic
def link_incidents(
    *,
    incident: Incident,
    prior: Incident,
    relation: str,
    asserted_by: str,
    sources: Iterable[Source],
    confidence: str = IncidentLink._meta.get_field("confidence").get_default(),
    note: str = IncidentLink._meta.get_field("note").get_default(),
) -> IncidentLink:
    """Link `incident` to the earlier `prior` it answers; re-linking the same pair updates the link.

    What is left out takes the model's default, on a re-link too: a call states the whole link.
    """
    link, _ = IncidentLink.objects.update_or_create(
        incident=incident,
        prior=prior,
        relation=relation,
        defaults={"asserted_by": asserted_by, "confidence": confidence, "note": note},
    )
    link.sources.set(sources)
    tasks.queue_after_commit(tasks.refresh_suggestions, [incident.pk])  # a linked pair is no longer suggested
    return link


@transaction.atomic
def update_link(link: IncidentLink, *, fields: dict, sources: Iterable[Source] | None = None) -> IncidentLink:
    """Change a link's ends, relation, confidence or note; None leaves the sources as they are."""
    was_for = link.incident_id
    for name, value in fields.items():
        setattr(link, name, value)
    link.save()
    if sources is not None:
        link.sources.set(sources)
    tasks.queue_after_commit(tasks.refresh_suggestions, sorted({was_for, link.incident_id}))
    return link


@transaction.atomic
def unlink_incidents(link: IncidentLink) -> None:
    link.delete()
    tasks.queue_after_commit(tasks.refresh_suggestions, [link.incident_id])  # the pair may be suggested again


@transaction.atomic
def delete_incident(incident: Incident) -> None:
    """Delete an incident with its actors, casualties and links (they cascade; history keeps a record)."""
    answers = list(incident.suggested_answers.values_list("incident_id", flat=True))
    incident.delete()
    tasks.queue_after_commit(tasks.refresh_suggestions, answers)  # they lose a candidate


# --- Imports and what publishing sets off -------------------------------------------------------------


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    published_ids: list[int] = field(default_factory=list)

    def __add__(self, other: ImportOutcome) -> ImportOutcome:
        return ImportOutcome(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.published_ids + other.published_ids,
        )


# ACLED names state forces "Military Forces of Iraq (2020-)"; anything not recognised is an armed group.
ACTOR_KIND_BY_PREFIX = (
    ("Military Forces of", Actor.Kind.STATE_FORCE),
    ("Police Forces of", Actor.Kind.STATE_FORCE),
    ("Air Force of", Actor.Kind.STATE_FORCE),
    ("Government of", Actor.Kind.STATE),
    ("Civilians", Actor.Kind.OTHER),
    ("Protesters", Actor.Kind.OTHER),
    ("Rioters", Actor.Kind.OTHER),
)


@dataclass
class ImportContext:
    """What an import carries from chunk to chunk: who imports and why (for history), whether new rows are
    published, and the actors, sources and bases already looked up or created."""

    user_id: int | None
    reason: str
    publish: bool
    job_id: int | None = None
    actors: dict[str, int] = field(default_factory=dict)  # lower-cased name or alias -> id
    actor_slugs: set[str] = field(default_factory=set)
    sources: dict[tuple[str, str], int] = field(default_factory=dict)  # (publisher, title) -> id
    bases: dict[str, int] = field(default_factory=dict)  # lower-cased slug, name or alternate name -> id

    @classmethod
    def load(cls, **kwargs) -> ImportContext:
        context = cls(**kwargs)
        context.reload()
        return context

    def reload(self) -> None:
        """Forget what a rolled-back chunk may have created, and read actors and bases afresh."""
        self.actors.clear()
        self.actor_slugs.clear()
        self.sources.clear()
        self.bases.clear()
        for pk, name, slug, aliases in Actor.objects.values_list("id", "name", "slug", "aliases"):
            self.actors.setdefault(name.lower(), pk)
            for alias in aliases:
                self.actors.setdefault(alias.lower(), pk)
            self.actor_slugs.add(slug)
        for pk, slug, name, alternates in Base.objects.values_list("id", "slug", "name", "alternate_names"):
            self.bases[slug.lower()] = pk
            for label in (name, *alternates):
                self.bases.setdefault(label.lower(), pk)

    @property
    def status(self) -> str:
        return Incident.Status.PUBLISHED if self.publish else Incident.Status.DRAFT


def _lock(name: str) -> None:
    """Serialise writers of `name` until the transaction ends (two imports creating the same actor)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])


def _history_user(context: ImportContext):
    return get_user_model().objects.filter(pk=context.user_id).first() if context.user_id else None


def _ensure_actors(names: set[str], context: ImportContext) -> None:
    missing = {name for name in names if name.lower() not in context.actors}
    if not missing:
        return
    _lock("posture.actor")
    for pk, name in (
        Actor.objects.annotate(lname=Lower("name"))
        .filter(lname__in=[n.lower() for n in missing])
        .values_list("id", "name")
    ):
        context.actors[name.lower()] = pk
    new = []
    for name in sorted(n for n in missing if n.lower() not in context.actors):
        base = slugify(name)[:90] or "actor"
        slug, n = base, 1
        while slug in context.actor_slugs or Actor.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        context.actor_slugs.add(slug)
        kind = next((k for prefix, k in ACTOR_KIND_BY_PREFIX if name.startswith(prefix)), Actor.Kind.ARMED_GROUP)
        new.append(Actor(name=name, slug=slug, kind=kind))
        context.actors[name.lower()] = 0  # placeholder until created below
    for actor in bulk_create_with_history(
        new, Actor, default_user=_history_user(context), default_change_reason=context.reason
    ):
        context.actors[actor.name.lower()] = actor.pk


def _ensure_sources(citations: set[tuple[str, str, str, str]], context: ImportContext) -> None:
    wanted = {(p, t): (url, reliability) for p, t, url, reliability in citations if (p, t) not in context.sources}
    if not wanted:
        return
    publishers, titles = zip(*wanted, strict=True)
    query = (
        "SELECT id, publisher, title FROM posture_source"
        " WHERE (publisher, title) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [list(publishers), list(titles)])
        found = {(p, t): pk for pk, p, t in cursor.fetchall()}
        missing = [key for key in wanted if key not in found]
        if missing:
            _lock("posture.source")
            cursor.execute(query, [[k[0] for k in missing], [k[1] for k in missing]])
            found.update({(p, t): pk for pk, p, t in cursor.fetchall()})
    context.sources.update(found)
    new = [
        Source(publisher=p, title=t, url=wanted[(p, t)][0], reliability=wanted[(p, t)][1] or Source.Reliability.F)
        for p, t in wanted
        if (p, t) not in found
    ]
    for source in bulk_create_with_history(
        new, Source, default_user=_history_user(context), default_change_reason=context.reason
    ):
        context.sources[(source.publisher, source.title)] = source.pk


@transaction.atomic
def import_incidents(records: Sequence[ParsedIncident], *, context: ImportContext) -> ImportOutcome:
    """Create or update imported incidents, matched on dataset + external id, with history.

    Rows whose content is the same as at their last import are left alone; a changed row is updated
    (keeping its publication status) and its actors, casualties and sources replaced. The writes are
    set-based (events.bulk), and derived figures (nearest base, casualty totals) are computed on the way in.
    """
    outcome = ImportOutcome()
    if not records:
        return outcome
    # Two runs importing the same dataset (a redelivered task, a sync during an upload) take turns.
    for dataset in sorted({r.dataset for r in records}):
        _lock(f"events.import:{dataset}")
    existing = bulk.find_existing([(r.dataset, r.external_id) for r in records])
    todo = []
    for record in records:
        found = existing.get((record.dataset, record.external_id))
        if found is not None and found[1] == record.digest:
            outcome.unchanged += 1
        else:
            todo.append((record, found))
    if not todo:
        return outcome
    _ensure_actors({name for record, _ in todo for _, name in record.actors}, context)
    _ensure_sources({citation for record, _ in todo for citation in record.sources}, context)
    new_ids = iter(bulk.allocate_incident_ids(sum(1 for _, found in todo if found is None)))
    staged = [
        bulk.Staged(
            record=record,
            incident_id=found[0] if found else next(new_ids),
            is_update=found is not None,
            status=context.status,
            base_id=context.bases.get(record.base.lower()) if record.base else None,
            actor_ids=[(context.actors[name.lower()], role) for role, name in record.actors],
            source_ids=[context.sources[(publisher, title)] for publisher, title, *_ in record.sources],
        )
        for record, found in todo
    ]
    outcome.updated = sum(1 for s in staged if s.is_update)
    outcome.created = len(staged) - outcome.updated
    outcome.published_ids = bulk.write(staged, user_id=context.user_id, reason=context.reason, job_id=context.job_id)
    announce_publication(outcome.published_ids)
    return outcome


def announce_publication(
    incident_ids: Sequence[int], *, on_queue_error: Callable[[Exception], None] | None = None
) -> list[int]:
    """Write the webhook outbox rows for newly published incidents; they are queued once the transaction
    commits. If the broker is down they stay in the outbox for beat's drain_outbox, and `on_queue_error`
    hears about it once (the admin tells the editor)."""
    delivery_ids = notifications.create_deliveries(incident_ids)
    if not delivery_ids:
        return delivery_ids
    reported = []

    def report_once(exc: Exception) -> None:
        if on_queue_error is not None and not reported:
            reported.append(exc)
            on_queue_error(exc)

    if len(delivery_ids) <= 20:
        for delivery_id in delivery_ids:
            tasks.queue_after_commit(tasks.deliver, delivery_id, on_error=report_once)
    else:
        tasks.queue_after_commit(tasks.drain_outbox, on_error=report_once)
    return delivery_ids


def refresh_nearest_bases() -> int:
    """Recompute every incident's nearest base and distance (after a base moved, appeared or went away);
    returns how many incidents changed. One statement; rows whose answer is unchanged are not written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE events_incident AS i SET nearest_base_id = nb.id, nearest_base_km = nb.km
            FROM events_incident AS s {bulk.NEAREST_BASE_JOIN}
            WHERE i.id = s.id
              AND (i.nearest_base_id IS DISTINCT FROM nb.id OR i.nearest_base_km IS DISTINCT FROM nb.km)
            """  # noqa: S608 - a constant fragment, no user input
        )
        return cursor.rowcount
