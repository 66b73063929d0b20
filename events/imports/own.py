"""This project's own exports, imported back: its GeoJSON (list or detail Features) and its CSV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from posture.models import Source

from ..models import Casualty, DatePrecision, GeoPrecision, Incident, Involvement, Kind
from .files import CsvReader, FileFormat, count_csv_records, decode_json
from .readers import read_coordinates, read_country, read_date, read_int, read_text, split_names
from .records import ImportFileError, KeyedRecords, ParsedIncident, Record, RowErrors, RowProblem

OWN_DATASET = "fpd"  # rows of our own exports that carry no dataset of their own
CSV_LABEL = "This project's CSV export"
CSV_REQUIRED = ["event_date", "kind", "title"]
EXPORT_SOURCE_TITLE = "Cited in an imported incident export"
OWN_SOURCE_PUBLISHER = "Force Posture Dashboard export"
EXPORTED_TOTAL_NOTE = "Casualties other than deaths, from an exported total"
DATE_PRECISION_LABELS = {p.label: p.value for p in DatePrecision}
ROLES = {role.value for role in Involvement.Role}
CASUALTY_GROUPS = {group.value for group in Casualty.Group}
CASUALTY_KINDS = {kind.value for kind in Casualty.Kind}
ATTRIBUTIONS = {a.value for a in Incident.Attribution}
DATE_PRECISIONS = tuple(DatePrecision.values)
GEO_PRECISIONS = tuple(GeoPrecision.values)


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
    date_precision = read_int(precision, "date_precision", errors, default=1, choices=DATE_PRECISIONS)
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
    geo_precision = read_int(props.get("geo_precision"), "geo_precision", errors, default=1, choices=GEO_PRECISIONS)
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


def _csv_records(stream: IO[bytes], start: int, dataset: str) -> KeyedRecords:
    for index, (row, record) in enumerate(CsvReader(stream, CSV_REQUIRED, CSV_LABEL).records()):
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


def _check_csv(stream: IO[bytes]) -> None:
    CsvReader(stream, CSV_REQUIRED, CSV_LABEL).header()


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


CSV_FORMAT = FileFormat("CSV export", _check_csv, count_csv_records, _csv_records, columns=tuple(CSV_REQUIRED))
GEOJSON_FORMAT = FileFormat("GeoJSON", _check_geojson, lambda stream: len(_features(stream)), _geojson_records)
