"""UCDP GED: the Uppsala Conflict Data Program's Georeferenced Event Dataset, as a CSV (the HDX republication,
with its hashtag row, or the special releases, which have no iso3 column).

How its columns become an incident (the README's Imports section has the same table):

    date_start, date_prec   the date; date_prec 1 exact day -> day; 2 (a range of 2 to 6 days) and 3 (the week)
                            -> week; 4 (a range of 8 to 30 days, or the month) -> month; 5 (the year) -> year
    where_prec              1 exact place -> exact; 2 (within 25 km) and 5 (along a road or river, or between
                            two places) -> near; 3 (district) and 4 (province) -> region; 6 (only the country)
                            and 7 (international waters or airspace) -> no point on the map at all: the
                            coordinates are a country's centre, not where it happened
    where_coordinates, adm_1, iso3 or country   place name, province and country
    side_a, side_b          attacker and target, each side's actors split at commas. UCDP's convention:
                            in type_of_violence 3 (one-sided) side A is the perpetrator and side B the
                            civilians; in 1 (state-based, side A is a government) and 2 (non-state) UCDP
                            does not say who attacked whom, and side A is recorded as the attacker, side B as
                            the target, as ACLED's actor1 and actor2 are
    type_of_violence, source_headline   the kind: a kind only when the headline names exactly one form
                            of violence that fits the type (an air strike needs a government on side A),
                            otherwise "unknown"
    deaths_a, deaths_b, deaths_civilians, deaths_unknown   killed, by group (side A's and side B's group from
                            who the side is); they must add up to best, so the timeline counts the file's best
    low, best, high         UCDP's estimates of all deaths, kept in the summary (UCDP's low and high are not
                            always on either side of best, so they are not a casualty range)
    source_office, source_date, source_headline   the summary's source line
    id                      the external id, in dataset "ucdp-ged"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO, Any

from ..models import Casualty, DatePrecision, GeoPrecision, Kind
from .files import CsvReader, FileFormat, count_csv_records, keyed_records
from .readers import read_coordinates, read_country, read_date, read_int, read_text, split_names
from .records import KeyedRecords, ParsedIncident, Record, RowErrors, RowProblem

DATASET = "ucdp-ged"
SOURCE = ("UCDP", "UCDP Georeferenced Event Dataset (GED)", "https://ucdp.uu.se/downloads/", "B")
LABEL = "A UCDP GED CSV"
REQUIRED = ["id", "date_start", "date_prec", "where_prec", "type_of_violence", "side_a", "side_b", "latitude",
            "longitude", "deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown", "best"]  # fmt: skip

DATE_PRECISION = {1: DatePrecision.DAY, 2: DatePrecision.WEEK, 3: DatePrecision.WEEK, 4: DatePrecision.MONTH,
                  5: DatePrecision.YEAR}  # fmt: skip
# None: the point is not kept (only the country is known).
GEO_PRECISION = {1: GeoPrecision.EXACT, 2: GeoPrecision.NEAR, 3: GeoPrecision.REGION, 4: GeoPrecision.REGION,
                 5: GeoPrecision.NEAR, 6: None, 7: None}  # fmt: skip
VIOLENCE = {1: "State-based violence", 2: "Non-state violence", 3: "One-sided violence"}

# Forms of violence a headline may name, each with the kinds it can be. Only one may match.
_FORMS = [
    ("air", re.compile(r"air ?strikes?|air ?raids?|warplanes?|fighter jets?|aerial bombardment", re.I)),
    ("drone", re.compile(r"\bdrones?\b|\buavs?\b", re.I)),
    ("explosive", re.compile(r"\bieds?\b|roadside bomb|car bomb|suicide|explosive device|\bvbieds?\b", re.I)),
    ("shelling", re.compile(r"rockets?|mortars?|shell(s|ing|ed)\b|artillery|katyusha|missiles?", re.I)),
    ("clash", re.compile(r"clash(es|ed)?\b|fighting|battles?\b|firefight|gun ?battle", re.I)),
]
_GOVERNMENT = "Government of "
# Whose dead a side's deaths are: by who the side is, else its kind of actor.
_GROUP_OF_GOVERNMENT = {
    "Government of United States of America": Casualty.Group.US_MILITARY,
    "Government of Iran": Casualty.Group.IRANIAN_FORCES,
    "Government of Iraq": Casualty.Group.PARTNER_FORCES,
}


def ucdp_kind(violence: int, side_a: list[str], headline: str) -> str:
    """Conservative: a kind only when the headline names exactly one form of violence that the type allows."""
    forms = {name for name, pattern in _FORMS if pattern.search(headline)}
    if len(forms) != 1:
        return Kind.UNKNOWN
    form = forms.pop()
    state = any(name.startswith(_GOVERNMENT) for name in side_a)
    if form == "air":
        return Kind.AIR_STRIKE if state else Kind.UNKNOWN  # non-state groups have no air force
    if form == "drone":
        return Kind.DRONE_STRIKE if state else Kind.DRONE_ATTACK
    if form == "explosive":
        return Kind.IED
    if form == "shelling":
        return Kind.BALLISTIC_MISSILE_STRIKE if "ballistic" in headline.lower() else Kind.ROCKET_ATTACK
    return Kind.ARMED_CLASH if violence in (1, 2) else Kind.UNKNOWN  # "clashes" in one-sided violence: unclear


def side_group(names: list[str]) -> str:
    if names == ["Civilians"]:
        return Casualty.Group.CIVILIANS
    governments = [name for name in names if name.startswith(_GOVERNMENT)]
    if not governments:
        return Casualty.Group.MILITIA  # armed groups
    if len(governments) == len(names) == 1:
        return _GROUP_OF_GOVERNMENT.get(names[0], Casualty.Group.OTHER)
    if "Government of United States of America" in governments and len(governments) == len(names):
        return Casualty.Group.COALITION  # the US with its allies
    return Casualty.Group.OTHER


def _casualties(deaths: list[tuple[str, int, str]]) -> tuple:
    """Killed by group; two parts in one group (two armed groups fighting) are added up, each named."""
    by_group: dict[str, list[tuple[int, str]]] = {}
    for group, count, what in deaths:
        if count:
            by_group.setdefault(group, []).append((count, what))
    figures = []
    for group, parts in by_group.items():
        note = "UCDP " + "; ".join(f"{what}: {count:,}" for count, what in parts)
        figures.append((group, Casualty.Kind.KILLED.value, None, sum(count for count, _ in parts), None, note[:500]))
    return tuple(sorted(figures))


def parse_ucdp(record: Mapping[str, Any], row: int, dataset: str = DATASET) -> Record:
    errors = RowErrors()

    def text(name: str, max_length: int = 200) -> str:
        return read_text(record.get(name), name, errors, max_length)

    number = read_int(record.get("id"), "id", errors)
    external_id = "" if number is None else str(number)
    if number is None and not errors:
        errors.add("id", "missing")
    year = read_int(record.get("year"), "year", errors)
    occurred_on = read_date(text("date_start", 40), "date_start", errors, year=year)
    ended_on = read_date(text("date_end", 40), "date_end", errors) if record.get("date_end") else None
    date_prec = read_int(record.get("date_prec"), "date_prec", errors, choices=tuple(DATE_PRECISION))
    where_prec = read_int(record.get("where_prec"), "where_prec", errors, choices=tuple(GEO_PRECISION))
    violence = read_int(record.get("type_of_violence"), "type_of_violence", errors, choices=tuple(VIOLENCE))
    if date_prec is None and not record.get("date_prec"):
        errors.add("date_prec", "missing")
    if where_prec is None and not record.get("where_prec"):
        errors.add("where_prec", "missing")
    if violence is None and not record.get("type_of_violence"):
        errors.add("type_of_violence", "missing")
    side_a = split_names(text("side_a", 1000), ",")
    side_b = split_names(text("side_b", 1000), ",")
    for name in (*side_a, *side_b):
        if len(name) > 200:
            errors.add("side", f"{name[:40]!r}… is longer than 200 characters")
    lon, lat = read_coordinates(record.get("longitude"), record.get("latitude"), errors)
    country = read_country(record.get("iso3"), record.get("country"), errors)
    figures = {name: read_int(record.get(name), name, errors) for name in ("deaths_a", "deaths_b",
               "deaths_civilians", "deaths_unknown", "low", "best", "high")}  # fmt: skip
    for name in ("deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown", "best"):
        if figures[name] is None and not record.get(name):
            errors.add(name, "missing")
    parts = [figures[name] for name in ("deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown")]
    if not errors and sum(parts) != figures["best"]:
        errors.add("best", f"{figures['best']} is not deaths_a + deaths_b + deaths_civilians + deaths_unknown "
                   f"({' + '.join(map(str, parts))} = {sum(parts)})")  # fmt: skip
    place_name, admin1 = text("where_coordinates"), text("adm_1", 100)
    headline = text("source_headline", 100_000)
    office, source_date = text("source_office", 1000), text("source_date", 1000)
    dyad = text("dyad_name", 1000)
    if errors:
        return RowProblem(row, external_id, str(errors))

    geo_precision = GEO_PRECISION[where_prec]
    if geo_precision is None:
        lon = lat = None
    kind = ucdp_kind(violence, side_a, headline)
    what = Kind(kind).label if kind != Kind.UNKNOWN else VIOLENCE[violence]
    where = place_name or admin1
    country_name = record.get("country") or ""
    preposition = "near" if geo_precision == GeoPrecision.NEAR else "in"
    title = f"{what} {preposition} {where}" if where else what
    if country_name and country_name != where:
        title += f", {country_name}"
    best, low, high = figures["best"], figures["low"], figures["high"]
    estimate = f"best {best:,}" + "".join(
        f", {label} {value:,}" for label, value in (("low", low), ("high", high)) if value is not None
    )
    period = f" to {ended_on}" if ended_on and ended_on != occurred_on else ""
    cited = ", ".join(part for part in (office, source_date) if part)
    summary = "\n\n".join(
        part
        for part in (
            headline,
            f"UCDP GED event {external_id}: {VIOLENCE[violence].lower()}, {dyad or ' - '.join((*side_a, *side_b))}; "
            f"{occurred_on}{period}. Deaths (all parties): {estimate}.",
            f"Source cited by UCDP: {cited}." if cited else "",
        )
        if part
    )
    deaths = [
        (side_group(side_a), figures["deaths_a"], f"deaths_a, side A ({', '.join(side_a)})"),
        (side_group(side_b), figures["deaths_b"], f"deaths_b, side B ({', '.join(side_b)})"),
        (Casualty.Group.CIVILIANS.value, figures["deaths_civilians"], "deaths_civilians"),
        (Casualty.Group.OTHER.value, figures["deaths_unknown"], "deaths_unknown"),
    ]
    actors = tuple(dict.fromkeys([("attacker", name) for name in side_a] + [("target", name) for name in side_b]))
    return ParsedIncident(
        row=row,
        dataset=dataset,
        external_id=external_id,
        occurred_on=occurred_on,
        date_precision=int(DATE_PRECISION[date_prec]),
        kind=str(kind),
        title=title[:200],
        summary=summary,
        attribution="assessed",  # UCDP's coders name the sides
        lon=lon,
        lat=lat,
        geo_precision=int(geo_precision or GeoPrecision.REGION),
        place_name=place_name,
        country=country,
        admin1=admin1,
        actors=actors,
        casualties=_casualties([(str(group), count, note) for group, count, note in deaths]),
        sources=(SOURCE,),
    )


def _records(stream: IO[bytes], start: int, dataset: str) -> KeyedRecords:
    reader = CsvReader(stream, REQUIRED, LABEL)
    return keyed_records(
        reader,
        start,
        dataset or DATASET,
        lambda record: (record.get("id") or "").strip().removesuffix(".0"),
        parse_ucdp,
    )


def _check(stream: IO[bytes]) -> None:
    CsvReader(stream, REQUIRED, LABEL).header()


FORMAT = FileFormat("UCDP GED CSV", _check, count_csv_records, _records, columns=tuple(REQUIRED))
