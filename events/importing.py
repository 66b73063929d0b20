"""Reading incident files: ACLED's CSV export, this project's GeoJSON and CSV exports, and ACLED API rows.

Every format is read into the same `ParsedIncident` records (or a `RowProblem` saying why a record was
refused); `events.actions.import_incidents` writes them. `run_import` drives one ImportJob: it reads the
file in chunks and commits each chunk together with the job's progress, so an import killed half-way
resumes after its last committed chunk.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import pycountry
from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from posture.countries import code_for_name
from posture.models import Source

from . import actions
from .models import Casualty, DatePrecision, GeoPrecision, ImportJob, ImportRowError, Incident, Involvement, Kind

log = logging.getLogger(__name__)

ACLED_DATASET = "acled"
ACLED_SOURCE = ("ACLED", "Armed Conflict Location & Event Data (ACLED)", "https://acleddata.com/", "B")
ACLED_FATALITIES_NOTE = "Fatalities reported by ACLED (all parties)"


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


# --- field readers shared by the formats ---------------------------------------------------------

MONTHS = {name.lower(): number for number, name in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"], start=1)}  # fmt: skip


def read_date(value: str, field: str, errors: RowErrors) -> dt.date | None:
    """ISO dates (2021-03-03, what the API and recent exports use) and ACLED's older '03 March 2021'."""
    if not value:
        errors.add(field, "missing")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    parts = value.replace("-", " ").split()
    if len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit() and parts[1].lower() in MONTHS:
        try:
            return dt.date(int(parts[2]), MONTHS[parts[1].lower()], int(parts[0]))
        except ValueError:
            pass
    errors.add(field, f"{value!r} is not a date (use YYYY-MM-DD)")
    return None


def read_int(value: Any, field: str, errors: RowErrors, *, default: int | None = None, choices=None) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value) if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        try:
            as_float = float(value)
        except (TypeError, ValueError):  # a list or an object from a JSON file
            as_float = math.nan
        if not as_float.is_integer():
            errors.add(field, f"{value!r} is not a whole number")
            return None
        number = int(as_float)
    if number < 0:
        errors.add(field, f"{number} is negative")
        return None
    if choices is not None and number not in choices:
        errors.add(field, f"{number} is not one of {', '.join(str(c) for c in choices)}")
        return None
    return number


def read_coordinates(lon_value: Any, lat_value: Any, errors: RowErrors) -> tuple[float | None, float | None]:
    if (lon_value is None or lon_value == "") and (lat_value is None or lat_value == ""):
        return None, None
    values = []
    for name, value, limit in (("longitude", lon_value, 180), ("latitude", lat_value, 90)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors.add(name, f"{value!r} is not a number" if value not in (None, "") else "missing")
            return None, None
        if not math.isfinite(number) or not -limit <= number <= limit:
            errors.add(name, f"{value} is outside -{limit}..{limit}")
            return None, None
        values.append(number)
    return values[0], values[1]


def read_text(value: Any, field: str, errors: RowErrors, max_length: int) -> str:
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        errors.add(field, "contains a NUL character")
        return ""
    if len(text) > max_length:
        errors.add(field, f"longer than {max_length} characters")
        return ""
    return text


def _country_by_number(value: str) -> str | None:
    country = pycountry.countries.get(numeric=value.zfill(3))
    return country.alpha_3 if country else None


def read_country(code: Any, name: Any, errors: RowErrors) -> str:
    """ACLED's `iso` is the numeric ISO 3166 code; our exports carry alpha-3. Fall back to the English name."""
    code = "" if code is None else str(code).strip()
    name = "" if name is None else str(name).strip()
    if code:
        found = _country_by_number(code) if code.isdigit() else code_for_name(code)
        if found:
            return found
    if name:
        found = code_for_name(name)
        if found:
            return found
    if code or name:
        errors.add("country", f"{code or name!r} is not a known country")
    return ""


def split_names(value: Any) -> list[str]:
    """ACLED lists associated actors and sources separated by semicolons."""
    if not value:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


# --- ACLED ---------------------------------------------------------------------------------------

# ACLED's time_precision and geo_precision codes, 1 to 3, as DatePrecision and GeoPrecision.
PRECISIONS = tuple(DatePrecision.values)
ACLED_REQUIRED = ["event_id_cnty", "event_date", "event_type", "sub_event_type", "latitude", "longitude"]
ACLED_EVENT_TYPES = {
    "Battles",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Protests",
    "Riots",
    "Strategic developments",
}
_DRONE_WORDS = ("drone", "uav", "uas", "unmanned")
_SHOW_OF_FORCE_WORDS = ("b-52", "b-1", "b-2", "bomber", "overflight", "flyover", "fly-over")


def acled_kind(event_type: str, sub_event_type: str, actor1: str, notes: str) -> str | None:
    """Our kind for an ACLED event type, or None if the event type is not ACLED's.

    ACLED does not tell a militia's one-way drone from a state's drone strike, nor a rocket from a
    ballistic missile, so the notes and the actor decide; violence that is not an attack on or by the
    forces this dashboard follows (protests, riots, violence against civilians) is political context.
    """
    if event_type not in ACLED_EVENT_TYPES:
        return None
    notes_lower = notes.lower()
    if event_type == "Battles":
        return Kind.ARMED_CLASH
    if event_type == "Explosions/Remote violence":
        if sub_event_type == "Shelling/artillery/missile attack":
            return Kind.BALLISTIC_MISSILE_STRIKE if "ballistic" in notes_lower else Kind.ROCKET_ATTACK
        if sub_event_type == "Air/drone strike":
            if any(word in notes_lower for word in _DRONE_WORDS):
                state = actor1.startswith(("Military Forces of", "Air Force of"))
                return Kind.DRONE_STRIKE if state else Kind.DRONE_ATTACK
            return Kind.AIR_STRIKE
        return Kind.IED  # remote explosives, IEDs, suicide bombs, grenades
    if event_type == "Strategic developments":
        if any(word in notes_lower for word in _SHOW_OF_FORCE_WORDS):
            return Kind.SHOW_OF_FORCE
        if sub_event_type == "Agreement":
            return Kind.DIPLOMATIC_MOVE
        if sub_event_type in ("Change to group/activity", "Headquarters or base established"):
            return Kind.POSTURE_ANNOUNCEMENT
        return Kind.CONTEXT
    return Kind.CONTEXT


def _is_named_actor(actor: str) -> bool:
    return bool(actor) and not actor.startswith("Unidentified")


def parse_acled(record: Mapping[str, Any], row: int, dataset: str = ACLED_DATASET) -> Record:
    """One ACLED event, from a CSV export row or an API response row (same field names)."""
    errors = RowErrors()

    def text(name: str, max_length: int = 200) -> str:
        return read_text(record.get(name), name, errors, max_length)

    external_id = text("event_id_cnty", 100)
    if not external_id and not errors:
        errors.add("event_id_cnty", "missing")
    occurred_on = read_date(text("event_date", 40), "event_date", errors)
    date_precision = read_int(record.get("time_precision"), "time_precision", errors, default=1, choices=PRECISIONS)
    geo_precision = read_int(record.get("geo_precision"), "geo_precision", errors, default=1, choices=PRECISIONS)
    event_type, sub_event_type = text("event_type"), text("sub_event_type")
    actor1, actor2 = text("actor1"), text("actor2")
    notes = read_text(record.get("notes"), "notes", errors, 100_000)
    kind = acled_kind(event_type, sub_event_type, actor1, notes)
    if kind is None:
        errors.add("event_type", f"{event_type!r} is not an ACLED event type" if event_type else "missing")
    lon, lat = read_coordinates(record.get("longitude"), record.get("latitude"), errors)
    country = read_country(record.get("iso"), record.get("country"), errors)
    fatalities = read_int(record.get("fatalities"), "fatalities", errors, default=0)
    timestamp = read_int(record.get("timestamp"), "timestamp", errors)
    place_name, admin1 = text("location"), text("admin1", 100)
    attackers = ([actor1] if actor1 else []) + split_names(record.get("assoc_actor_1"))
    targets = ([actor2] if actor2 else []) + split_names(record.get("assoc_actor_2"))
    for name in (*attackers, *targets):
        if len(name) > 200:
            errors.add("actor", f"{name[:40]!r}… is longer than 200 characters")
    if errors:
        return RowProblem(row, external_id, str(errors))

    label = Kind(kind).label
    where = place_name or admin1
    if where:
        preposition = "near" if geo_precision == GeoPrecision.NEAR else "in"
        country_name = record.get("country") or ""
        title = f"{label} {preposition} {where}" + (f", {country_name}" if country_name else "")
    else:
        title = label
    cited = split_names(record.get("source"))
    summary = notes + (f"\n\nSources cited by ACLED: {'; '.join(cited)}." if cited else "")
    actors = tuple(dict.fromkeys([("attacker", name) for name in attackers] + [("target", name) for name in targets]))
    casualties = (("other", "killed", None, fatalities, None, ACLED_FATALITIES_NOTE),) if fatalities else ()
    return ParsedIncident(
        row=row,
        dataset=dataset,
        external_id=external_id,
        occurred_on=occurred_on,
        date_precision=date_precision,
        kind=str(kind),  # the plain value, so that the digest does not depend on how an enum prints
        title=title[:200],
        summary=summary,
        attribution="assessed" if _is_named_actor(actor1) else "unknown",
        lon=lon,
        lat=lat,
        geo_precision=geo_precision,
        place_name=place_name,
        country=country,
        admin1=admin1,
        actors=actors,
        casualties=casualties,
        sources=(ACLED_SOURCE,),
        source_timestamp=timestamp,
    )


# --- this project's own exports -----------------------------------------------------------------

OWN_DATASET = "fpd"  # rows of our own exports that carry no dataset of their own
OWN_CSV_REQUIRED = ["event_date", "kind", "title"]
EXPORT_SOURCE_TITLE = "Cited in an imported incident export"
OWN_SOURCE_PUBLISHER = "Force Posture Dashboard export"
EXPORTED_TOTAL_NOTE = "Casualties other than deaths, from an exported total"
DATE_PRECISION_LABELS = {p.label: p.value for p in DatePrecision}
ROLES = {role.value for role in Involvement.Role}
CASUALTY_GROUPS = {group.value for group in Casualty.Group}
CASUALTY_KINDS = {kind.value for kind in Casualty.Kind}
ATTRIBUTIONS = {a.value for a in Incident.Attribution}


def _code(value: Any) -> str | None:
    """A code from a file, or None: JSON can hold a list or an object where a code should be."""
    return value if isinstance(value, str) else None


def _own_actors(props: Mapping[str, Any], errors: RowErrors) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    listed = props.get("actors") or []  # detail Features: [{"role", "slug", "name"}]
    for item in listed if isinstance(listed, list) else [None]:
        if (
            not isinstance(item, dict)
            or _code(item.get("role")) not in ROLES
            or not (item.get("name") or item.get("slug"))
        ):
            errors.add("actors", "give each actor as {role, name}")
            break
        pairs.append((item["role"], str(item.get("name") or item.get("slug")).strip()))
    if not pairs:
        # List Features name attackers and targets; the CSV export has ACLED's actor1/actor2 columns.
        for role, keys in (
            ("attacker", ("attackers", "actor1", "assoc_actor_1")),
            ("target", ("targets", "actor2", "assoc_actor_2")),
            ("claimed_by", ("claimed_by",)),
        ):
            pairs += [(role, name) for key in keys for name in split_names(props.get(key))]
    for _, name in pairs:
        if len(name) > 200:
            errors.add("actors", f"{name[:40]!r}… is longer than 200 characters")
    return tuple(dict.fromkeys(pairs))


def _own_casualties(props: Mapping[str, Any], errors: RowErrors) -> tuple:
    listed = props.get("casualties")
    if isinstance(listed, list):
        figures = []
        for item in listed:
            if (
                not isinstance(item, dict)
                or _code(item.get("group")) not in CASUALTY_GROUPS
                or _code(item.get("kind")) not in CASUALTY_KINDS
            ):
                errors.add("casualties", "give each figure as {group, kind, low, best, high} with known codes")
                return ()
            low, best, high = (read_int(item.get(k), f"casualties {k}", errors) for k in ("low", "best", "high"))
            if low is None and best is None and high is None:
                errors.add("casualties", "a figure needs one of low, best and high")
            elif (low is not None and best is not None and low > best) or (
                best is not None and high is not None and best > high
            ):
                errors.add("casualties", "low <= best <= high does not hold")
            note = read_text(item.get("note"), "casualties note", errors, 500)
            figures.append((item["group"], item["kind"], low, best, high, note))
        if len({(f[0], f[1]) for f in figures}) != len(figures):
            errors.add("casualties", "the same group and kind twice")
        return tuple(figures)
    # Exports carry only the totals: deaths, and everyone hurt.
    killed = read_int(props.get("fatalities_best", props.get("fatalities")), "fatalities", errors, default=0)
    total = read_int(props.get("casualties_best"), "casualties_best", errors, default=killed)
    figures = []
    if killed:
        figures.append(("other", "killed", None, killed, None, ""))
    if total is not None and killed is not None and total > killed:
        figures.append(("other", "wounded", None, total - killed, None, EXPORTED_TOTAL_NOTE))
    return tuple(figures)


def _own_sources(props: Mapping[str, Any], errors: RowErrors) -> tuple:
    listed = props.get("sources")
    citations = []
    if isinstance(listed, list):  # detail Features: [{"publisher", "title", "url", ...}]
        for item in listed:
            if isinstance(item, dict) and item.get("publisher") and item.get("title"):
                url = read_text(item.get("url"), "sources url", errors, 1000)
                reliability = item.get("reliability") if item.get("reliability") in Source.Reliability.values else ""
                citations.append(
                    (
                        read_text(item["publisher"], "sources publisher", errors, 200),
                        read_text(item["title"], "sources title", errors, 500),
                        url,
                        reliability,
                    )
                )
    else:  # the CSV export: publishers only
        for publisher in split_names(props.get("source")):
            citations.append((read_text(publisher, "source", errors, 200), EXPORT_SOURCE_TITLE, "", ""))
    return tuple(dict.fromkeys(citations))


def parse_own(props: Mapping[str, Any], row: int, dataset: str, geometry: Any = ...) -> Record:
    """One incident of this project's GeoJSON (Feature properties, list or detail shape) or CSV export.

    The CSV export names its columns as ACLED does where ACLED has one (event_date, location, notes, ...);
    both spellings are read. Rows keep the dataset and external id they carry; one without an external
    id is keyed by its id in the exporting site ("FPD<id>", as the CSV export's event_id_cnty).
    """
    errors = RowErrors()

    def text(*names: str, max_length: int = 200) -> str:
        for name in names:
            if props.get(name) not in (None, ""):
                return read_text(props[name], name, errors, max_length)
        return ""

    row_dataset = text("dataset", max_length=50)
    external_id = text("external_id", max_length=100)
    if external_id:
        dataset = row_dataset
    else:
        exported_id = read_text(props.get("id"), "id", errors, 90)
        external_id = text("event_id_cnty", max_length=100) or (f"FPD{exported_id}" if exported_id else "")
        dataset = dataset or OWN_DATASET
    if not external_id:
        errors.add("external_id", "missing (and no id to key the row by)")
    occurred_on = read_date(text("occurred_on", "event_date", max_length=40), "occurred_on", errors)
    precision = props.get("date_precision", props.get("time_precision"))
    precision = DATE_PRECISION_LABELS.get(precision, precision) if isinstance(precision, str) else precision
    date_precision = read_int(precision, "date_precision", errors, default=1, choices=PRECISIONS)
    kind = text("kind", max_length=30)
    if kind not in Kind.values:
        errors.add("kind", f"{kind!r} is not one of {', '.join(Kind.values)}" if kind else "missing")
    title = text("title")
    if not title:
        errors.add("title", "missing")
    attribution = text("attribution", max_length=12) or "unknown"
    if attribution not in ATTRIBUTIONS:
        errors.add("attribution", f"{attribution!r} is not one of {', '.join(sorted(ATTRIBUTIONS))}")
    if geometry is ...:  # CSV
        lon, lat = read_coordinates(props.get("longitude"), props.get("latitude"), errors)
    elif geometry is None:
        lon = lat = None
    elif (
        isinstance(geometry, dict) and geometry.get("type") == "Point" and isinstance(geometry.get("coordinates"), list)
    ):
        coordinates = geometry["coordinates"]
        if len(coordinates) != 2:
            errors.add("geometry", "give [longitude, latitude]")
            lon = lat = None
        else:
            lon, lat = read_coordinates(coordinates[0], coordinates[1], errors)
    else:
        errors.add("geometry", "only Point geometries (or null) are imported")
        lon = lat = None
    geo_precision = read_int(props.get("geo_precision"), "geo_precision", errors, default=1, choices=PRECISIONS)
    country = read_country(props.get("country_iso3") or props.get("iso"), None, errors)
    if not country:
        # GeoJSON carries the alpha-3 code under "country"; the CSV export the English name.
        country = read_country(None, props.get("country"), errors)
    munitions = read_int(props.get("munitions"), "munitions", errors)
    actors = _own_actors(props, errors)
    casualties = _own_casualties(props, errors)
    sources = _own_sources(props, errors)
    summary = text("summary", "notes", max_length=100_000)
    place_name, admin1 = text("place_name", "location"), text("admin1", max_length=100)
    base, weapon = text("base_name"), text("weapon")
    if errors:
        return RowProblem(row, external_id, str(errors))
    return ParsedIncident(
        row=row,
        dataset=dataset,
        external_id=external_id,
        occurred_on=occurred_on,
        date_precision=date_precision,
        kind=kind,
        title=title,
        summary=summary,
        attribution=attribution,
        lon=lon,
        lat=lat,
        geo_precision=geo_precision,
        place_name=place_name,
        country=country,
        admin1=admin1,
        base=base,
        weapon=weapon,
        munitions=munitions,
        actors=actors,
        casualties=casualties,
        # Every incident cites a source: the export itself when its rows name none (the GeoJSON list shape).
        sources=sources or ((OWN_SOURCE_PUBLISHER, f"Imported {dataset} incidents", "", ""),),
    )


# --- reading files -------------------------------------------------------------------------------


def count_csv_records(stream: IO[bytes]) -> int:
    """Records after the header. A newline inside a quoted field does not end a record: quotes are counted
    line by line, and a record ends where the count is even (an escaped "" adds two)."""
    stream.seek(0)
    records = quotes = 0
    for line in stream:
        quotes += line.count(b'"')
        if not quotes % 2:
            quotes = 0
            if line.strip():
                records += 1
    return max(0, records - 1)


@contextlib.contextmanager
def _text_stream(stream: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    """The file as text from its start. Detached afterwards: closing the wrapper would close the file."""
    stream.seek(0)
    # utf-8-sig drops the byte-order mark spreadsheet programs write.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield text
    finally:
        text.detach()


class CsvReader:
    """Records of a CSV file as dicts, numbered as a spreadsheet shows them (the header is row 1)."""

    def __init__(self, stream: IO[bytes], required: Iterable[str]) -> None:
        self.stream = stream
        self.required = list(required)

    def header(self) -> list[str]:
        with _text_stream(self.stream) as text:
            try:
                header = [name.strip().lower() for name in next(csv.reader(text))]
            except StopIteration:
                raise ImportFileError("The file is empty.") from None
            except csv.Error as exc:
                raise ImportFileError(f"The file is not CSV: {exc}.") from None
        missing = [name for name in self.required if name not in header]
        if missing:
            raise ImportFileError(f"Missing column(s): {', '.join(missing)}.")
        return header

    def records(self) -> Iterator[tuple[int, dict[str | None, str]]]:
        """(row, record); a malformed record is {None: what is wrong with it}."""
        header = self.header()
        with _text_stream(self.stream) as text:
            reader = csv.reader(text)
            next(reader)
            row = 1
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    row += 1
                    yield row, {None: f"is not valid CSV ({exc})"}
                    continue
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank lines are not records (count_csv_records skips them too)
                row += 1
                if len(values) != len(header):
                    yield row, {None: f"has {len(values)} fields where the header has {len(header)}"}
                    continue
                yield row, dict(zip(header, values, strict=True))


# (row, (dataset, external id), parsed record or None for a record before `start`, which is only counted)
KeyedRecords = Iterator[tuple[int, tuple[str, str], Record | None]]


@dataclass
class FileFormat:
    """How to read one format: check it, count its records, and read them from the `start`-th on."""

    label: str
    check: Callable[[IO[bytes]], None]
    count: Callable[[IO[bytes]], int]
    records: Callable[[IO[bytes], int, str], KeyedRecords]


def _acled_records(stream: IO[bytes], start: int, dataset: str) -> KeyedRecords:
    dataset = dataset or ACLED_DATASET
    for index, (row, record) in enumerate(CsvReader(stream, ACLED_REQUIRED).records()):
        external_id = (record.get("event_id_cnty") or "").strip()
        if index < start:
            yield row, (dataset, external_id), None
        elif None in record:
            yield row, (dataset, ""), RowProblem(row, "", f"row {record[None]}")
        else:
            yield row, (dataset, external_id), parse_acled(record, row, dataset)


def _check_acled(stream: IO[bytes]) -> None:
    CsvReader(stream, ACLED_REQUIRED).header()


def _own_csv_records(stream: IO[bytes], start: int, dataset: str) -> KeyedRecords:
    for index, (row, record) in enumerate(CsvReader(stream, OWN_CSV_REQUIRED).records()):
        if None in record:
            yield row, (dataset, ""), (None if index < start else RowProblem(row, "", f"row {record[None]}"))
            continue
        parsed = parse_own(record, row, dataset)
        yield (
            row,
            (parsed.dataset, parsed.external_id)
            if isinstance(parsed, ParsedIncident)
            else (dataset, parsed.external_id),
            (None if index < start else parsed),
        )


def _check_own_csv(stream: IO[bytes]) -> None:
    CsvReader(stream, OWN_CSV_REQUIRED).header()


def _features(stream: IO[bytes]) -> list:
    data = decode_json(stream)
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise ImportFileError("The file is not a GeoJSON FeatureCollection.")
    return data["features"]


def _geojson_records(stream: IO[bytes], start: int, dataset: str) -> KeyedRecords:
    for index, feature in enumerate(_features(stream)):
        row = index + 1
        if (
            not isinstance(feature, dict)
            or feature.get("type") != "Feature"
            or not isinstance(feature.get("properties"), dict)
        ):
            yield row, (dataset, ""), (None if index < start else RowProblem(row, "", "not a GeoJSON Feature"))
            continue
        properties = dict(feature["properties"])
        properties.setdefault("id", feature.get("id"))
        parsed = parse_own(properties, row, dataset, geometry=feature.get("geometry"))
        key = (
            (parsed.dataset, parsed.external_id)
            if isinstance(parsed, ParsedIncident)
            else (dataset, parsed.external_id)
        )
        yield row, key, (None if index < start else parsed)


def _check_geojson(stream: IO[bytes]) -> None:
    _features(stream)


FORMATS: dict[str, FileFormat] = {
    ImportJob.Format.ACLED: FileFormat("ACLED CSV", _check_acled, count_csv_records, _acled_records),
    ImportJob.Format.CSV: FileFormat("CSV export", _check_own_csv, count_csv_records, _own_csv_records),
    ImportJob.Format.GEOJSON: FileFormat(
        "GeoJSON", _check_geojson, lambda stream: len(_features(stream)), _geojson_records
    ),
}


def detect_format(name: str, head: bytes) -> str:
    """The format of an uploaded file, from its name and first bytes."""
    lowered = name.lower()
    if lowered.endswith((".geojson", ".json")) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return ImportJob.Format.GEOJSON
    first_line = head.decode("utf-8-sig", errors="replace").splitlines()[0].lower() if head else ""
    columns = {c.strip().strip('"') for c in first_line.split(",")}
    if "kind" in columns and "title" in columns:
        return ImportJob.Format.CSV
    return ImportJob.Format.ACLED


def check_file(stream: IO[bytes], fmt: str) -> None:
    """Raise ImportFileError if the file cannot be read as `fmt` at all (before a job is created for it)."""
    FORMATS[fmt].check(stream)
    stream.seek(0)


# --- running a job -------------------------------------------------------------------------------


def run_import(job_id: int) -> ImportJob | None:
    """Process an ImportJob from its last committed chunk to the end. Safe to run twice, even at once."""
    try:
        return _run_import(job_id)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the job stays open, and beat's resume_stalled_imports retries it
    except Exception as exc:
        log.exception("Import #%s stopped", job_id)
        _fail(job_id, f"The import stopped on an unexpected error: {exc}")
        raise


def _run_import(job_id: int) -> ImportJob | None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.finished:
        return job
    fmt = FORMATS[job.format]
    try:
        stream = job.file.open("rb")
    except (OSError, ValueError) as exc:
        return _fail(job_id, f"The uploaded file cannot be read: {exc}")
    with stream:
        try:
            fmt.check(stream)
            total = fmt.count(stream)
        except ImportFileError as exc:
            return _fail(job_id, str(exc))
        now = timezone.now()
        ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(status=ImportJob.Status.RUNNING)
        ImportJob.objects.filter(pk=job_id).update(rows_total=total, heartbeat_at=now)
        job.refresh_from_db()
        context = actions.ImportContext.load(
            user_id=job.created_by_id, reason=f"Import #{job.pk}", publish=not job.as_draft, job_id=job.pk
        )
        chunk_size = max(1, settings.IMPORT_CHUNK_SIZE)
        records = read_ahead(fmt.records(stream, job.rows_done, job.dataset), chunk_size)
        first_row: dict[tuple[str, str], int] = {}  # to report an external id the file repeats
        position = 0  # records taken from `records`
        while True:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(pk=job_id)
                if job.finished:
                    return job
                chunk: list[Record] = []
                for row, key, record in records:
                    position += 1
                    if key[1]:
                        first = first_row.setdefault(key, row)
                    # Records before job.rows_done are committed (by this run, or by another run of the
                    # same job while this one waited for the lock): only remember their ids.
                    if position <= job.rows_done:
                        continue
                    if isinstance(record, ParsedIncident) and first != row:
                        record = RowProblem(row, key[1], f"external id already on row {first} of this file")
                    chunk.append(record)
                    if len(chunk) >= chunk_size:
                        break
                if not chunk:
                    job.status = ImportJob.Status.DONE
                    job.finished_at = timezone.now()
                    job.save(update_fields=["status", "finished_at"])
                    return job
                import_chunk(job, chunk, context)


def read_ahead(records: Iterator, size: int, batch: int = 500) -> Iterator:
    """`records`, parsed by a thread up to `size` ahead: the parsing of the next chunk (Python) overlaps the
    writing of this one (PostgreSQL). Handed over in batches, a queue operation per record costing more
    than parsing it. The thread touches only the file, never the database."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, size // batch))
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone

    def produce() -> None:
        try:
            while items := list(itertools.islice(records, batch)):
                if not offer(items):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)
            return
        offer([])

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        while items := buffer.get():
            if isinstance(items, BaseException):
                raise items
            yield from items
    finally:
        stop.set()
        thread.join(timeout=5)


def import_chunk(job: ImportJob, chunk: list[Record], context: actions.ImportContext) -> None:
    """Write one chunk and the job's progress, in the caller's transaction (which locks the job row)."""
    problems = [r for r in chunk if isinstance(r, RowProblem)]
    parsed = []
    for record in chunk:
        if not isinstance(record, ParsedIncident):
            continue
        if record.base and record.base.lower() not in context.bases:
            # Written without its base, the incident would look as if it targeted none (a typo, a base not
            # yet added): the editor hears of the row instead.
            reason = f'base_name: unknown base "{record.base}" (no base has this slug or name)'
            problems.append(RowProblem(record.row, record.external_id, reason))
        else:
            parsed.append(record)
    try:
        outcome = actions.import_incidents(parsed, context=context)
    except (IntegrityError, DataError):
        # Something the parsers let through and the database refused: find the culprits one row at a time.
        log.exception("Import #%s: a chunk failed; importing its rows one at a time", job.pk)
        context.reload()
        outcome = actions.ImportOutcome()
        for record in parsed:
            try:
                outcome += actions.import_incidents([record], context=context)
            except (IntegrityError, DataError) as exc:
                context.reload()
                problems.append(RowProblem(record.row, record.external_id, f"refused by the database: {exc}"))
    if problems:
        ImportRowError.objects.bulk_create(
            ImportRowError(job=job, row=p.row, external_id=p.external_id[:200], reason=p.reason)
            for p in sorted(problems, key=lambda p: p.row)
        )
    job.rows_done += len(chunk)
    job.failed_count += len(problems)
    job.created_count += outcome.created
    job.updated_count += outcome.updated
    job.unchanged_count += outcome.unchanged
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=["rows_done", "failed_count", "created_count", "updated_count", "unchanged_count", "heartbeat_at"]
    )


def _fail(job_id: int, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
    )
    return ImportJob.objects.get(pk=job_id)


def decode_json(stream: IO[bytes]) -> Any:
    stream.seek(0)
    try:
        return json.load(codecs.getreader("utf-8-sig")(stream))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"The file is not valid JSON: {exc}") from None
