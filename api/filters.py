"""Query parameters of the incident endpoints, parsed and validated in one place.

/api/v1/incidents/, its clusters, the timeline and the OGC API items all read their filters through
`read_incident_filters`, so a filter means the same everywhere and every bad value is a 400 that names the
parameter. `IncidentFilters.apply` turns the validated values into one IncidentQuerySet chain.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from dataclasses import dataclass

import pycountry
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from events.models import Incident, IncidentQuerySet, Kind

DEFAULT_LIMIT = 500
MAX_LIMIT = 10_000
MAX_TEXT = 200
MAX_INT = 2**31 - 1  # PostgreSQL integer (casualty figures)
MAX_ID = 2**63 - 1  # PostgreSQL bigint (ids)

# Orderings clients may ask for, each with the key the pages are cut on. `id` breaks ties so every row has
# exactly one place in the order and keyset paging never skips or repeats a row.
ORDERINGS: dict[str, tuple[str, bool]] = {
    "-occurred_on": ("occurred_on", True),
    "occurred_on": ("occurred_on", False),
    "-casualties_best": ("casualties_best", True),
    "casualties_best": ("casualties_best", False),
}
DEFAULT_ORDERING = "-occurred_on"

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


class QueryReader:
    """Reads one request's query string and collects every problem before answering 400 once."""

    def __init__(self, query: QueryDict, *, allowed: set[str] | None = None):
        self.query = query
        self.errors: dict[str, list[str]] = {}
        for name, values in query.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                self.error(name.replace("\x00", "\\x00"), "NUL bytes are not allowed.")
        if allowed is not None:
            for name in query:
                if name not in allowed and "\x00" not in name:
                    self.error(name, "Unknown parameter.")

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def has_error(self, name: str) -> bool:
        return name in self.errors

    def one(self, name: str) -> str | None:
        """The value of a parameter that may be given once; None when absent, empty or already refused.

        An empty value counts as absent, as an HTML form sends the fields left blank (`?actor=&country=`).
        """
        values = [value for value in self.query.getlist(name) if value != ""]
        if not values or self.has_error(name):
            return None
        if len(values) > 1:
            self.error(name, "Give this parameter once.")
            return None
        return values[0]

    def many(self, name: str) -> list[str]:
        if self.has_error(name):
            return []
        # ?kind=a&kind=b and ?kind=a,b both work: scripts tend to send the first, forms the second.
        return [part for value in self.query.getlist(name) for part in value.split(",") if part != ""]

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)

    def bbox(self, name: str = "bbox", *, allow_3d: bool = False) -> tuple[float, float, float, float] | None:
        value = self.one(name)
        if value is None:
            return None
        parts = value.split(",")
        sizes = (4, 6) if allow_3d else (4,)
        if len(parts) not in sizes:
            wanted = "4 or 6" if allow_3d else "4"
            self.error(name, f"Give {wanted} comma-separated numbers: minLon,minLat,maxLon,maxLat.")
            return None
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            self.error(name, "Every value must be a number.")
            return None
        if not all(math.isfinite(n) for n in numbers):
            self.error(name, "Every value must be a finite number.")
            return None
        if len(numbers) == 6:  # minLon,minLat,minZ,maxLon,maxLat,maxZ: heights play no part here
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        min_lon, min_lat, max_lon, max_lat = numbers
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
            self.error(name, "Longitudes must be between -180 and 180.")
        elif not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            self.error(name, "Latitudes must be between -90 and 90.")
        elif min_lon > max_lon or min_lat > max_lat:
            self.error(name, "The minimum must not exceed the maximum.")
        else:
            return (min_lon, min_lat, max_lon, max_lat)
        return None

    def date(self, name: str) -> dt.date | None:
        value = self.one(name)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value) if len(value) == 10 else _invalid_date()
        except ValueError:
            self.error(name, "Give a date as YYYY-MM-DD.")
            return None

    def integer(self, name: str, *, minimum: int, maximum: int, cap: bool = False) -> int | None:
        value = self.one(name)
        if value is None:
            return None
        digits = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]+", digits):
            self.error(name, "Give a whole number.")
            return None
        # Past 30 digits the exact value cannot matter (and Python refuses to parse thousands of them).
        number = int(digits) if len(digits) <= 30 else (-1 if digits.startswith("-") else 1) * 10**30
        if number < minimum:
            self.error(name, f"Must be at least {minimum}.")
            return None
        if number > maximum:
            if cap:
                return maximum
            self.error(name, f"Must be at most {maximum}.")
            return None
        return number

    def choice(self, name: str, choices, *, default: str | None = None) -> str | None:
        value = self.one(name)
        if value is None:
            return default
        if value not in choices:
            self.error(name, f"Unknown value {value!r}; choose from {', '.join(choices)}.")
            return default
        return value

    def limit(self, *, default: int = DEFAULT_LIMIT) -> int:
        # A huge limit is capped (the client gets the maximum and a next link), a nonsensical one refused.
        limit = self.integer("limit", minimum=1, maximum=MAX_LIMIT, cap=True)
        return default if limit is None else limit


def _invalid_date():
    raise ValueError("not YYYY-MM-DD")


@dataclass(frozen=True)
class IncidentFilters:
    bbox: tuple[float, float, float, float] | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    kinds: tuple[str, ...] = ()
    actor: str | None = None
    country: str | None = None
    base: int | None = None
    q: str | None = None
    min_casualties: int | None = None

    def apply(self, incidents: IncidentQuerySet) -> IncidentQuerySet:
        if self.bbox is not None:
            incidents = incidents.in_bbox(self.bbox)
        if self.start is not None or self.end is not None:
            incidents = incidents.between(self.start, self.end)
        if self.kinds:
            incidents = incidents.of_kinds(self.kinds)
        if self.actor:
            incidents = incidents.involving(self.actor)
        if self.country:
            incidents = incidents.in_country(self.country)
        if self.base is not None:
            incidents = incidents.targeting(self.base)
        if self.q:
            incidents = incidents.search(self.q)
        if self.min_casualties:
            incidents = incidents.with_min_casualties(self.min_casualties)
        return incidents

    @property
    def only_place_and_kind(self) -> bool:
        """Whether nothing but the bounding box and the kinds narrows the incidents (what map cells count)."""
        others = (self.start, self.end, self.actor, self.country, self.base, self.q, self.min_casualties)
        return all(value is None for value in others)

    def queryset(self, user) -> IncidentQuerySet:
        """What this user may see of the incidents that match."""
        return self.apply(Incident.objects.visible_to(user))


INCIDENT_FILTER_NAMES = {"bbox", "start", "end", "kind", "actor", "country", "base", "q", "min_casualties"}


def read_incident_filters(reader: QueryReader, *, dates: str = "start_end") -> IncidentFilters:
    """The incident filters of a request. `dates="datetime"` reads OGC's datetime instead of start/end."""
    if dates == "datetime":
        bbox = reader.bbox("bbox", allow_3d=True)
        start, end = read_datetime(reader)
    else:
        bbox = reader.bbox("bbox")
        start, end = reader.date("start"), reader.date("end")
        if start and end and start > end:
            reader.error("end", "The end must not come before the start.")
    kinds = reader.many("kind")
    unknown = [kind for kind in kinds if kind not in Kind.values]
    if unknown:
        reader.error("kind", f"Unknown kind {unknown[0]!r}; see /api/v1/kinds/ for the codes.")
    actor = reader.one("actor")
    if actor is not None and (len(actor) > 100 or not SLUG.fullmatch(actor)):
        reader.error("actor", "Give an actor's slug, as listed by /api/v1/actors/.")
        actor = None
    country = reader.one("country")
    if country is not None:
        country = country.upper()
        if len(country) != 3 or pycountry.countries.get(alpha_3=country) is None:
            reader.error("country", "Give an ISO 3166-1 alpha-3 country code, such as IRQ or SYR.")
            country = None
    base = reader.integer("base", minimum=1, maximum=MAX_ID)
    q = reader.one("q")
    if q is not None:
        q = q.strip()
        if len(q) > MAX_TEXT:
            reader.error("q", f"At most {MAX_TEXT} characters.")
            q = None
    min_casualties = reader.integer("min_casualties", minimum=0, maximum=MAX_INT)
    return IncidentFilters(
        bbox=bbox,
        start=start,
        end=end,
        kinds=tuple(dict.fromkeys(kinds)),
        actor=actor,
        country=country,
        base=base,
        q=q or None,
        min_casualties=min_casualties,
    )


def read_datetime(reader: QueryReader) -> tuple[dt.date | None, dt.date | None]:
    """OGC API `datetime`: an instant, or an interval `start/end` where either end may be open (`..` or empty).

    Incidents are dated to the day, so a date-time is taken to mean its (UTC) day.
    """
    value = reader.one("datetime")
    if value is None:
        return None, None
    parts = value.split("/")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] in ("", "..") and parts[1] in ("", "..")):
        reader.error("datetime", "Give an instant or an interval start/end (either end may be '..').")
        return None, None
    try:
        days = [None if part in ("", "..") and len(parts) == 2 else _day_of(part) for part in parts]
    except (ValueError, OverflowError):  # OverflowError: a time zone that moves the day past year 1 or 9999
        reader.error("datetime", "Give RFC 3339 dates or date-times, such as 2021-03-03 or 2021-03-03T12:00:00Z.")
        return None, None
    if len(days) == 1:
        return days[0], days[0]
    start, end = days
    if start and end and start > end:
        reader.error("datetime", "The end must not come before the start.")
        return None, None
    return start, end


def _day_of(text: str) -> dt.date:
    text = text.strip()
    if len(text) in (10, 11) and text[:10] == text.rstrip("T"):
        # GDAL sends a bare date with a trailing "T" when the filter has no time part.
        return dt.date.fromisoformat(text[:10])
    moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or, going back, before) the row with this sort key and id.

    It also carries numberMatched, counted on the first page: counting tens of thousands of matches again
    for every page would double the database's work for a figure that paging does not change.
    """

    ordering: str
    backwards: bool
    key: object
    id: int
    matched: int | None = None

    def encode(self) -> str:
        fields = [self.ordering, int(self.backwards), _plain(self.key), self.id, self.matched]
        raw = json.dumps(fields, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


@dataclass(frozen=True)
class PageRequest:
    ordering: str = DEFAULT_ORDERING
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None
    sort_field: str = "occurred_on"
    descending: bool = True


def read_page(reader: QueryReader, *, default_limit: int = DEFAULT_LIMIT, orderings: dict | None = None) -> PageRequest:
    """ordering, limit and cursor. `orderings` maps each allowed ordering to (sort field, descending)."""
    orderings = ORDERINGS if orderings is None else orderings
    default = DEFAULT_ORDERING if DEFAULT_ORDERING in orderings else next(iter(orderings))
    ordering = reader.choice("ordering", list(orderings), default=default) if len(orderings) > 1 else default
    limit = reader.limit(default=default_limit)
    cursor = _decode_cursor(reader, ordering, orderings)
    sort_field, descending = orderings[ordering]
    return PageRequest(ordering=ordering, limit=limit, cursor=cursor, sort_field=sort_field, descending=descending)


def _decode_cursor(reader: QueryReader, ordering: str, orderings: dict) -> Cursor | None:
    value = reader.one("cursor")
    if value is None:
        return None
    try:
        if len(value) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        cursor_ordering, backwards, key, pk, matched = json.loads(raw)
        if matched is not None and (type(matched) is not int or not 0 <= matched <= MAX_ID):
            raise ValueError("bad count")
        sort_field, _ = orderings[cursor_ordering]
        if sort_field == "occurred_on":
            key = dt.date.fromisoformat(key)
        elif type(key) is not int or not 0 <= key <= (MAX_ID if sort_field == "id" else MAX_INT):
            raise ValueError("bad key")
        if type(pk) is not int or not 0 < pk <= MAX_ID or backwards not in (0, 1):
            raise ValueError("bad id")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        reader.error("cursor", "Not a cursor this API handed out; follow the next and prev links as they are.")
        return None
    if cursor_ordering != ordering:
        reader.error("cursor", "This cursor belongs to another ordering; keep the query as in the link.")
        return None
    return Cursor(ordering=cursor_ordering, backwards=bool(backwards), key=key, id=pk, matched=matched)
