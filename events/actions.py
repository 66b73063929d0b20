"""Writes that span several models. The admin, the API, imports and commands all go through these."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import DatabaseDefault
from django.db.models.signals import post_save
from django.db.models.sql import InsertQuery
from simple_history.utils import bulk_create_with_history

from posture.models import Actor, Base, Side, Source

from . import tasks
from .derived import DERIVED, SIDES, WRITTEN_NEXT, write_one
from .imports import ImportFileError, check_file, detect_format
from .models import Casualty, ImportJob, Incident, IncidentLink, Involvement
from .notifications.outbox import announce_publication

__all__ = [
    "CasualtyFigure",
    "IncidentRelations",
    "announce_publication",
    "check_upload",
    "delete_bases",
    "delete_import_jobs",
    "delete_incident",
    "delete_sides",
    "link_incidents",
    "record_incident",
    "save_actor",
    "save_base",
    "start_import",
    "unlink_incidents",
    "update_incident",
    "update_link",
    "write_incident",
]

# What an upload may be; the ACLED API is the sync's, not a file.
UPLOAD_FORMATS = [ImportJob.Format.ACLED, ImportJob.Format.UCDP, ImportJob.Format.GEOJSON, ImportJob.Format.CSV]


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
def record_incident(*, fields: dict, relations: IncidentRelations, user=None, reason: str | None = None) -> Incident:
    """Create an incident with its actors, casualties and sources, and its derived figures; `reason`, the
    editor's, goes on its first history row."""
    incident = Incident(**fields, created_by=user if user and user.is_authenticated else None)
    incident._change_reason = reason  # simple-history's, for its row
    with write_incident(incident, was_published=False):
        _replace_relations(incident, relations)
    return incident


@transaction.atomic
def update_incident(incident: Incident, *, fields: dict, relations: IncidentRelations) -> Incident:
    was_published = incident.status == Incident.Status.PUBLISHED  # as loaded, before `fields`
    for name, value in fields.items():
        setattr(incident, name, value)
    with write_incident(incident, was_published=was_published):
        _replace_relations(incident, relations)
    return incident


@contextmanager
def write_incident(
    incident: Incident,
    *,
    was_published: bool,
    also_refresh: Iterable[int] = (),
    on_queue_error: Callable[[Exception], None] | None = None,
) -> Iterator[Incident]:
    """Every editor's write of an incident goes through here: record_incident, update_incident and the admin's
    save. The block writes what hangs off the incident (actors, casualties, sources, links); on leaving it the
    row is written once, as an import writes it: one INSERT (a new incident, whose id is taken beforehand) or
    one UPDATE, setting its fields, and its derived figures, sides and actors' names computed in the same
    statement from what the block wrote (events/derived.py). The foreign keys of the rows written before the
    incident's are checked at commit. Then its one history row, and, queued for after the commit, the webhook
    announcement when it has just been published and the suggestions of it (and of `also_refresh`)."""
    adding = incident._state.adding
    with transaction.atomic():
        if adding:
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('events_incident', 'id'))")
                incident.pk = cursor.fetchone()[0]
            incident._state.db = connection.alias  # where its relations go, as save() would have set
        else:
            _written_next(incident.pk)  # its involvements' trigger leaves the sides to the row's UPDATE
        # simple-history skips the saves and m2m changes of an instance that says so: the history row comes
        # once, after the row, with the sources the block set.
        incident.skip_history_when_saving = True
        try:
            yield incident
        except BaseException:
            if adding:
                incident.pk, incident._state.db = None, None
            raise
        finally:
            del incident.skip_history_when_saving
        if incident.status != Incident.Status.RETRACTED:
            # Only a source's sync retracts; an editor who restores it (draft or published) clears why and when.
            incident.retracted_reason, incident.retracted_at = "", None
        _write_row(incident, adding=adding)
        if not adding:
            _written_next(None)
        # The history row, as save() has simple-history write it on post_save.
        post_save.send(
            Incident, instance=incident, created=adding, update_fields=None, raw=False, using=connection.alias
        )
        if incident.status == Incident.Status.PUBLISHED and not was_published:
            announce_publication([incident.pk], on_queue_error=on_queue_error)
        tasks.queue_after_commit(tasks.refresh_suggestions, sorted({incident.pk, *also_refresh}))


def _written_next(incident_id: int | None) -> None:
    """Name the incident whose row this transaction writes next, sides included, or no incident: the
    involvements' trigger leaves it alone (events/sql/events_involvement_sides_track.sql, which takes a set of
    ids, as an import names its incidents)."""
    with connection.cursor() as cursor:
        cursor.execute(WRITTEN_NEXT.format(ids="%s"), [f"{{{incident_id}}}" if incident_id else ""])


def _write_row(incident: Incident, *, adding: bool) -> None:
    """The incident's row in one statement (derived.write_one): its fields as save() writes them (auto_now
    dates, database values and placeholders, through Django's own compiler), and the derived columns as the
    statement computes them, which are then set on `incident`."""
    derived = (*DERIVED, *SIDES)
    skipped = {column for column, _ in derived}
    compiler = InsertQuery(Incident).get_compiler(connection=connection)
    location_field = Incident._meta.get_field("location")
    columns, values, params, location = [], [], [], ("NULL", [])
    for model_field in Incident._meta.local_concrete_fields:
        if model_field.column in skipped or model_field.generated or (model_field.primary_key and not adding):
            continue
        value = model_field.pre_save(incident, adding)
        if adding and isinstance(value, DatabaseDefault):
            continue  # the column's default, as an INSERT leaves it out
        sql, value_params = compiler.field_as_sql(
            model_field, getattr(model_field, "get_placeholder", None), compiler.prepare_value(model_field, value)
        )
        columns.append(connection.ops.quote_name(model_field.column))
        values.append(sql)
        params += value_params
        if model_field is location_field:
            location = (sql, value_params)
    statement = write_one(columns, values, location=location[0], insert=adding)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, incident.pk, *location[1], incident.pk])
        row = cursor.fetchone()
    if row is None:
        raise DatabaseError(f"Incident {incident.pk} is gone: there was no row to update.")
    for (column, _), value in zip(derived, row, strict=True):
        setattr(incident, column, value)
    incident._state.adding = False
    incident._state.db = connection.alias


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


# posture knows nothing of incidents: a change of a base, an actor or a side that changes something of theirs
# goes through these (the admin's, the seed's), which queue that work once the change commits.


@transaction.atomic
def save_base(base: Base) -> Base:
    """Create or change a base. A base that appears or moves may be any incident's nearest: every incident's
    nearest base is re-ranked once the change commits (one statement, rewriting only the rows that change)."""
    base.save()
    tasks.queue_after_commit(tasks.refresh_nearest_bases)
    return base


@transaction.atomic
def delete_bases(bases: QuerySet[Base]) -> None:
    """Delete these bases; the incidents they were nearest to get another once the delete commits."""
    bases.delete()
    tasks.queue_after_commit(tasks.refresh_nearest_bases)


@transaction.atomic
def save_actor(actor: Actor) -> Actor:
    """Create or change an actor. Its incidents' sides and names follow in the same transaction (the actor
    trigger, events/sql/); moved to another side it pairs differently, so the suggestions of its incidents
    are refreshed once the change commits."""
    actor.save()
    tasks.queue_after_commit(tasks.refresh_suggestions_of_actor, actor.pk)
    return actor


@transaction.atomic
def delete_sides(sides: QuerySet[Side]) -> None:
    """Delete these sides: their actors are left on their own, each a side of its own (the actor trigger
    rewrites their incidents' sides), and every suggestion is refreshed once the delete commits."""
    sides.delete()
    tasks.queue_after_commit(tasks.refresh_suggestions)


@transaction.atomic
def delete_import_jobs(jobs: QuerySet[ImportJob]) -> None:
    """Delete these import jobs (their bad rows go with them) and, once the delete has committed, their
    uploaded files: a rolled-back delete keeps a job whose file is still there. The admin deletes jobs here,
    one or in bulk (the API only reads them)."""
    storage = ImportJob._meta.get_field("file").storage
    uploads = [name for name in jobs.values_list("file", flat=True) if name]
    jobs.delete()
    for name in uploads:
        # robust: a storage that fails to remove it must not turn the committed delete into an error page;
        # the leftover file is logged. FileSystemStorage already ignores a file that is gone.
        transaction.on_commit(partial(storage.delete, name), robust=True)


def check_upload(file: File, format: str | None) -> str:
    """The format `file` is imported as; ValidationError naming the field when it cannot be imported at all
    (too large, a header none of the formats has, a file `format` cannot read). Before any job exists."""
    if format and format not in UPLOAD_FORMATS:
        raise ValidationError({"format": f"{format!r} is not one of {', '.join(UPLOAD_FORMATS)}."})
    if file.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError({"file": f"The file is larger than {settings.IMPORT_MAX_UPLOAD_MB} MB."})
    file.seek(0)
    fmt = format
    try:
        fmt = fmt or detect_format(file.name or "", file.read(4096))
        check_file(file, fmt)
    except ImportFileError as exc:
        label = f" as {ImportJob.Format(fmt).label}" if fmt else ""
        raise ValidationError({"file": f"Cannot be imported{label}: {exc}"}) from None
    return fmt


@transaction.atomic
def start_import(
    *,
    file: File,
    format: str | None,
    dataset: str = "",
    as_draft: bool = False,
    via: str,
    user=None,
    on_queue_error: Callable[[Exception], None] | None = None,
) -> ImportJob:
    """Check an uploaded file (check_upload), record its ImportJob and queue the import once the transaction
    commits. The admin, the API and the command all start imports here. With the broker down the job stays
    queued (`on_queue_error` hears of it), and beat's "Resume stalled imports" starts it later."""
    fmt = check_upload(file, format)
    name = posixpath.basename((file.name or "upload").replace("\\", "/"))[:255] or "upload"
    job = ImportJob.objects.create(
        file=file if file.name == name else File(file, name=name),
        original_name=name,
        format=fmt,
        dataset=dataset,
        as_draft=as_draft,
        via=via,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    tasks.queue_after_commit(tasks.run_import, job.pk, on_error=on_queue_error)
    return job
