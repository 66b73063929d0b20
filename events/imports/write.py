"""The import write path: imported records become incidents, matched on dataset + external id, with their
actors, casualties, sources, derived figures and history, set-based (events.imports.bulk). The runner and the ACLED
sync call it, a chunk at a time, inside the transaction that also records the job's progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from posture.models import Actor, Base, Source

from ..models import Incident
from ..notifications.outbox import announce_publication
from .bulk import Staged, allocate_incident_ids, find_existing
from .bulk import write as write_staged
from .records import ParsedIncident


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
    (keeping its publication status) and its actors, casualties and sources replaced. A retracted incident
    that comes again is restored, with the status a new row gets, and counted as updated. The writes are
    set-based (events.imports.bulk), and derived figures (nearest base, casualty totals, sides and actor names) are
    computed on the way in.
    """
    outcome = ImportOutcome()
    if not records:
        return outcome
    # Two runs importing the same dataset (a redelivered task, a sync during an upload) take turns.
    for dataset in sorted({r.dataset for r in records}):
        _lock(f"events.import:{dataset}")
    existing = find_existing([(r.dataset, r.external_id) for r in records])
    todo = []
    for record in records:
        found = existing.get((record.dataset, record.external_id))
        # A retracted incident sent again is restored even when its content is unchanged.
        if found is not None and found[1] == record.digest and not found[2]:
            outcome.unchanged += 1
        else:
            todo.append((record, found))
    if not todo:
        return outcome
    _ensure_actors({name for record, _ in todo for _, name in record.actors}, context)
    _ensure_sources({citation for record, _ in todo for citation in record.sources}, context)
    new_ids = iter(allocate_incident_ids(sum(1 for _, found in todo if found is None)))
    staged = [
        Staged(
            record=record,
            incident_id=found[0] if found else next(new_ids),
            is_update=found is not None,
            status=context.status,
            base_id=context.bases.get(record.base.lower()) if record.base else None,
            actor_ids=[(context.actors[name.lower()], role) for role, name in record.actors],
            source_ids=[context.sources[(publisher, title)] for publisher, title, *_ in record.sources],
            restored=bool(found and found[2]),
        )
        for record, found in todo
    ]
    outcome.updated = sum(1 for s in staged if s.is_update)
    outcome.created = len(staged) - outcome.updated
    outcome.published_ids = write_staged(staged, user_id=context.user_id, reason=context.reason, job_id=context.job_id)
    announce_publication(outcome.published_ids)
    return outcome
