"""ACLED: its CSV export (as downloaded, or re-saved by a spreadsheet) and its API's rows, which share names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from ..models import GeoPrecision, Kind
from .files import CsvReader, FileFormat, count_csv_records, keyed_records
from .readers import read_coordinates, read_country, read_date, read_int, read_text, split_names
from .records import KeyedRecords, ParsedIncident, Record, RowErrors, RowProblem

DATASET = "acled"
SOURCE = ("ACLED", "Armed Conflict Location & Event Data (ACLED)", "https://acleddata.com/", "B")
FATALITIES_NOTE = "Fatalities reported by ACLED (all parties)"
LABEL = "An ACLED CSV export"
REQUIRED = ["event_id_cnty", "event_date", "event_type", "sub_event_type", "latitude", "longitude"]
# ACLED's time_precision and geo_precision codes, 1 to 3, are DatePrecision's and GeoPrecision's first three.
PRECISIONS = (1, 2, 3)
EVENT_TYPES = {
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
    if event_type not in EVENT_TYPES:
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


def parse_acled(record: Mapping[str, Any], row: int, dataset: str = DATASET) -> Record:
    """One ACLED event, from a CSV export row or an API response row (same field names)."""
    errors = RowErrors()

    def text(name: str, max_length: int = 200) -> str:
        return read_text(record.get(name), name, errors, max_length)

    external_id = text("event_id_cnty", 100)
    if not external_id and not errors:
        errors.add("event_id_cnty", "missing")
    # The year column gives a two-digit year (9-May-20, as spreadsheets save ACLED's dates) its century.
    year = read_int(record.get("year"), "year", errors)
    occurred_on = read_date(text("event_date", 40), "event_date", errors, year=year)
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
    casualties = (("other", "killed", None, fatalities, None, FATALITIES_NOTE),) if fatalities else ()
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
        sources=(SOURCE,),
        source_timestamp=timestamp,
    )


def _records(stream: IO[bytes], start: int, dataset: str) -> KeyedRecords:
    reader = CsvReader(stream, REQUIRED, LABEL)
    return keyed_records(
        reader, start, dataset or DATASET, lambda record: (record.get("event_id_cnty") or "").strip(), parse_acled
    )


def _check(stream: IO[bytes]) -> None:
    CsvReader(stream, REQUIRED, LABEL).header()


FORMAT = FileFormat("ACLED CSV", _check, count_csv_records, _records, columns=tuple(REQUIRED))
