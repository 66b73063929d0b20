"""Loads the seed data (events/seed/assessment.json): the facts of the strategic assessment the project grew
from, plus the public facts the map needs, each with its sources.

Loading is idempotent: rows are matched on natural keys (slugs, publisher + title, dataset + external id) and
written only when something differs, so a second load changes nothing and adds no history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from django.contrib.gis.geos import Point
from django.db import transaction

from posture.models import Actor, Affiliation, Base, BaseStatus, Side, Source, TroopLevel

from ..actions import (
    CasualtyFigure,
    IncidentRelations,
    link_incidents,
    record_incident,
    save_actor,
    save_base,
    update_incident,
)
from ..models import Incident, IncidentLink

SEED_FILE = Path(__file__).parent / "assessment.json"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _point(row: dict) -> Point | None:
    return Point(row["lon"], row["lat"], srid=4326) if "lon" in row else None


def _same(instance, values: dict) -> bool:
    for name, value in values.items():
        current = getattr(instance, name)
        if isinstance(value, Point) or isinstance(current, Point):
            if (current is None) != (value is None) or (current is not None and not current.equals_exact(value, 1e-9)):
                return False
        elif current != value:
            return False
    return True


class SeedLoader:
    def __init__(self, data: dict):
        self.data = data
        self.dataset = data["dataset"]
        self.written = Counter()
        self.sources: dict[str, Source] = {}
        self.sides: dict[str, Side] = {}
        self.actors: dict[str, Actor] = {}
        self.bases: dict[str, Base] = {}
        self.incidents: dict[str, Incident] = {}

    def upsert(self, model, lookup: dict, values: dict, save=None):
        """The row of `model` matched by `lookup`, created or changed to `values` if it differs. `save`
        writes it (events.actions' for a base or an actor, which queue what their change sets off)."""
        save = save or model.save
        instance = model.objects.filter(**lookup).first()
        if instance is None:
            instance = model(**lookup, **values)
            save(instance)
            self.written[model.__name__] += 1
        elif not _same(instance, values):
            for name, value in values.items():
                setattr(instance, name, value)
            save(instance)
            self.written[model.__name__] += 1
        return instance

    def set_m2m(self, manager, wanted) -> None:
        wanted = list(wanted)
        if {o.pk for o in manager.all()} != {o.pk for o in wanted}:
            manager.set(wanted)

    def load(self) -> Counter:
        with transaction.atomic():
            self.load_sources()
            self.load_sides()
            self.load_actors()
            self.load_bases()
            self.load_troop_levels()
            self.load_incidents()
            self.load_links()
        return self.written

    def load_sources(self) -> None:
        for row in self.data["sources"]:
            self.sources[row["key"]] = self.upsert(
                Source,
                {"publisher": row["publisher"], "title": row["title"]},
                {
                    "url": row.get("url", ""),
                    "published_on": _date(row.get("published_on")),
                    "reliability": row["reliability"],
                    "note": row.get("note", ""),
                },
            )

    def load_sides(self) -> None:
        for row in self.data.get("sides", []):
            self.sides[row["slug"]] = self.upsert(
                Side, {"slug": row["slug"]}, {"name": row["name"], "description": row.get("description", "")}
            )

    def load_actors(self) -> None:
        for row in self.data["actors"]:
            self.actors[row["slug"]] = self.upsert(
                Actor,
                {"slug": row["slug"]},
                {
                    "name": row["name"],
                    "side": self.sides.get(row.get("side")),
                    "kind": row["kind"],
                    "country": row.get("country", ""),
                    "aliases": row.get("aliases", []),
                    "description": row.get("description", ""),
                },
                save=save_actor,
            )
        for row in self.data["actors"]:
            for affiliation in row.get("affiliations", []):
                self.upsert(
                    Affiliation,
                    {
                        "actor": self.actors[row["slug"]],
                        "related": self.actors[affiliation["related"]],
                        "relation": affiliation["relation"],
                    },
                    {"note": affiliation.get("note", "")},
                )

    def load_bases(self) -> None:
        for row in self.data["bases"]:
            base = self.upsert(
                Base,
                {"slug": row["slug"]},
                {
                    "name": row["name"],
                    "alternate_names": row.get("alternate_names", []),
                    "location": _point(row),
                    "country": row["country"],
                    "kind": row["kind"],
                    "description": row.get("description", ""),
                },
                save=save_base,
            )
            self.set_m2m(base.users, (self.actors[slug] for slug in row.get("users", [])))
            self.set_m2m(base.sources, (self.sources[key] for key in row.get("sources", [])))
            for status in row.get("statuses", []):
                self.upsert(
                    BaseStatus,
                    {"base": base, "start_on": _date(status["start_on"])},
                    {"status": status["status"], "end_on": _date(status.get("end_on")), "note": status.get("note", "")},
                )
            self.bases[row["slug"]] = base

    def load_troop_levels(self) -> None:
        for row in self.data["troop_levels"]:
            level = self.upsert(
                TroopLevel,
                {
                    "contributor": self.actors[row["contributor"]],
                    "host_country": row["host_country"],
                    "status": row["status"],
                    "as_of": _date(row["as_of"]),
                    "mission": row.get("mission", ""),
                },
                {
                    "base": self.bases.get(row.get("base")),
                    "low": row.get("low"),
                    "best": row.get("best"),
                    "high": row.get("high"),
                    "qualifier": row["qualifier"],
                    "reported_on": _date(row.get("reported_on")),
                    "note": row.get("note", ""),
                },
            )
            self.set_m2m(level.sources, (self.sources[key] for key in row["sources"]))

    def incident_fields(self, row: dict) -> dict:
        return {
            "occurred_on": _date(row["occurred_on"]),
            "date_precision": row.get("date_precision", 1),
            "kind": row["kind"],
            "title": row["title"],
            "summary": row.get("summary", ""),
            "attribution": row.get("attribution", Incident.Attribution.UNKNOWN),
            "location": _point(row),
            "geo_precision": row.get("geo_precision", 1),
            "place_name": row.get("place_name", ""),
            "country": row.get("country", ""),
            "admin1": row.get("admin1", ""),
            "base": self.bases.get(row.get("base")),
            "weapon": row.get("weapon", ""),
            "munitions": row.get("munitions"),
            "status": Incident.Status.PUBLISHED,
        }

    def incident_relations(self, row: dict) -> IncidentRelations:
        return IncidentRelations(
            actors={role: [self.actors[s] for s in slugs] for role, slugs in row.get("actors", {}).items()},
            casualties=[CasualtyFigure(**figure) for figure in row.get("casualties", [])],
            sources=[self.sources[key] for key in row["sources"]],
        )

    @staticmethod
    def relations_match(incident: Incident, relations: IncidentRelations) -> bool:
        actors = {(i.role, i.actor_id) for i in incident.involvements.all()}
        wanted_actors = {(role, a.pk) for role, group in relations.actors.items() for a in group}
        casualties = {(c.group, c.kind, c.low, c.best, c.high, c.note) for c in incident.casualties.all()}
        wanted_casualties = {(f.group, f.kind, f.low, f.best, f.high, f.note) for f in relations.casualties}
        sources = {s.pk for s in incident.sources.all()}
        return (
            actors == wanted_actors and casualties == wanted_casualties and sources == {s.pk for s in relations.sources}
        )

    def load_incidents(self) -> None:
        for row in self.data["incidents"]:
            fields = self.incident_fields(row)
            relations = self.incident_relations(row)
            incident = Incident.objects.filter(dataset=self.dataset, external_id=row["key"]).first()
            if incident is None:
                incident = record_incident(
                    fields={**fields, "dataset": self.dataset, "external_id": row["key"]}, relations=relations
                )
                self.written["Incident"] += 1
            elif not (_same(incident, fields) and self.relations_match(incident, relations)):
                incident = update_incident(incident, fields=fields, relations=relations)
                self.written["Incident"] += 1
            self.incidents[row["key"]] = incident

    def load_links(self) -> None:
        for row in self.data["links"]:
            incident, prior = self.incidents[row["incident"]], self.incidents[row["prior"]]
            sources = [self.sources[key] for key in row["sources"]]
            existing = IncidentLink.objects.filter(incident=incident, prior=prior, relation=row["relation"]).first()
            unchanged = existing is not None and _same(
                existing,
                {"asserted_by": row["asserted_by"], "confidence": row["confidence"], "note": row.get("note", "")},
            )
            if unchanged and {s.pk for s in existing.sources.all()} == {s.pk for s in sources}:
                continue
            link_incidents(
                incident=incident,
                prior=prior,
                relation=row["relation"],
                asserted_by=row["asserted_by"],
                confidence=row["confidence"],
                sources=sources,
                note=row.get("note", ""),
            )
            self.written["IncidentLink"] += 1


def load_seed(path: Path = SEED_FILE) -> Counter:
    """Load the seed file; returns how many rows of each model were created or changed."""
    return SeedLoader(json.loads(path.read_text())).load()
