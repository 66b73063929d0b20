"""What every format reads a record into: a `ParsedIncident` ready for the database, or a `RowProblem` saying
why the record was refused."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..models import GeoPrecision


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong format, missing columns, not JSON)."""


ActorRef = tuple[str, str]  # role, actor name
Figure = tuple[str, str, int | None, int | None, int | None, str]  # group, kind, low, best, high, note
Citation = tuple[str, str, str, str]  # publisher, title, url, reliability


@dataclass(slots=True)
class ParsedIncident:
    """One incident as read from any format, ready for the database."""

    row: int
    dataset: str
    external_id: str
    occurred_on: dt.date
    date_precision: int
    kind: str
    title: str
    summary: str = ""
    attribution: str = "unknown"
    lon: float | None = None
    lat: float | None = None
    geo_precision: int = GeoPrecision.EXACT
    place_name: str = ""
    country: str = ""
    admin1: str = ""
    base: str = ""  # the targeted base's slug or name
    weapon: str = ""
    munitions: int | None = None
    actors: tuple[ActorRef, ...] = ()
    casualties: tuple[Figure, ...] = ()
    sources: tuple[Citation, ...] = ()
    source_timestamp: int | None = None
    # A fingerprint of the content (not of the row number or the source's timestamp), computed where the
    # record is parsed: by the read-ahead thread, for files.
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        content = (
            self.occurred_on.isoformat(),
            self.date_precision,
            self.kind,
            self.title,
            self.summary,
            self.attribution,
            self.lon,
            self.lat,
            self.geo_precision,
            self.place_name,
            self.country,
            self.admin1,
            self.base,
            self.weapon,
            self.munitions,
            self.actors,
            self.casualties,
            self.sources,
        )
        self.digest = hashlib.md5(repr(content).encode(), usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class RowProblem:
    row: int
    external_id: str
    reason: str


Record = ParsedIncident | RowProblem

# (row, (dataset, external id), parsed record or None for a record before `start`, which is only counted)
KeyedRecords = Iterator[tuple[int, tuple[str, str], Record | None]]


class RowErrors:
    """Collects the reasons a record is refused, field by field."""

    __slots__ = ("reasons",)

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.reasons.append(f"{field}: {message}")

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def __str__(self) -> str:
        return "; ".join(self.reasons)
