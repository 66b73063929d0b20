"""Query parameters, parsed and validated in one place: the one filter system of the API.

Filters are django-filter FilterSets whose methods call the QuerySet methods (IncidentFilterSet for
/api/v1/incidents/, its clusters, the timeline, links, analytics and the OGC items; the bases' and the
deployments' beside their views), and their fields say what is wrong in the API's words. `QueryReader`
reads the rest (paging, ordering, buckets), refuses unknown parameters and NUL bytes, and collects every
problem of a request, filters' included, before answering one 400 that names each parameter. The OpenAPI
description of every filter is built from the FilterSets (api.schema.filter_parameters).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from dataclasses import dataclass

import django_filters
import pycountry
from django import forms
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from events.models import Incident, IncidentQuerySet, Kind
from posture.models import Base

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

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)

    def parse(self, name: str, field: _Field):
        """A parameter given once, as `field` parses it (the filters' own fields); None when absent or refused."""
        value = self.one(name)
        if value is None:
            return None
        try:
            return field.parse(value)
        except forms.ValidationError as error:
            for message in error.messages:
                self.error(name, message)
            return None

    def integer(self, name: str, *, minimum: int, maximum: int, cap: bool = False) -> int | None:
        return self.parse(name, WholeNumberField(minimum=minimum, maximum=maximum, cap=cap))

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


class _Field(forms.Field):
    """A form field that reads one value (empty counts as absent) and says what is wrong in the API's words."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return None
        return self.parse(value)

    def parse(self, value: str):
        return value


class BBoxField(_Field):
    def __init__(self, *, allow_3d: bool = False, **kwargs):
        self.allow_3d = allow_3d
        super().__init__(**kwargs)

    def parse(self, value: str) -> tuple[float, float, float, float]:
        parts = value.split(",")
        if len(parts) not in ((4, 6) if self.allow_3d else (4,)):
            wanted = "4 or 6" if self.allow_3d else "4"
            raise forms.ValidationError(f"Give {wanted} comma-separated numbers: minLon,minLat,maxLon,maxLat.")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise forms.ValidationError("Every value must be a number.") from None
        if not all(math.isfinite(n) for n in numbers):
            raise forms.ValidationError("Every value must be a finite number.")
        if len(numbers) == 6:  # minLon,minLat,minZ,maxLon,maxLat,maxZ: heights play no part here
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        min_lon, min_lat, max_lon, max_lat = numbers
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
            raise forms.ValidationError("Longitudes must be between -180 and 180.")
        if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise forms.ValidationError("Latitudes must be between -90 and 90.")
        if min_lon > max_lon or min_lat > max_lat:
            raise forms.ValidationError("The minimum must not exceed the maximum.")
        return (min_lon, min_lat, max_lon, max_lat)


class IsoDateField(_Field):
    def parse(self, value: str) -> dt.date:
        try:
            if len(value) != 10:
                raise ValueError("not YYYY-MM-DD")
            return dt.date.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError("Give a date as YYYY-MM-DD.") from None


class WholeNumberField(_Field):
    """A whole number from `minimum` to `maximum`; with `cap`, a larger one stands for the maximum."""

    def __init__(self, *, minimum: int, maximum: int, cap: bool = False, **kwargs):
        self.minimum, self.maximum, self.cap = minimum, maximum, cap
        super().__init__(**kwargs)

    def parse(self, value: str) -> int:
        digits = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]+", digits):
            raise forms.ValidationError("Give a whole number.")
        # Past 30 digits the exact value cannot matter (and Python refuses to parse thousands of them).
        number = int(digits) if len(digits) <= 30 else (-1 if digits.startswith("-") else 1) * 10**30
        if number < self.minimum:
            raise forms.ValidationError(f"Must be at least {self.minimum}.")
        if number > self.maximum:
            if self.cap:
                return self.maximum
            raise forms.ValidationError(f"Must be at most {self.maximum}.")
        return number


class NumberField(_Field):
    """A decimal number up to `maximum`, either above `above` or (without it) from `minimum` on."""

    def __init__(self, *, maximum: float, above: float | None = None, minimum: float | None = None, **kwargs):
        self.maximum, self.above, self.minimum = maximum, above, minimum
        super().__init__(**kwargs)

    def parse(self, value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = None
        if self.above is None:  # a closed range, which one message describes
            if number is None or not self.minimum <= number <= self.maximum:  # NaN fails too
                raise forms.ValidationError(f"Give a number from {self.minimum:g} to {self.maximum:g}.")
        elif number is None:
            raise forms.ValidationError("Give a number.")
        elif not (math.isfinite(number) and self.above < number <= self.maximum):
            raise forms.ValidationError(f"Must be more than {self.above:g} and at most {self.maximum:g}.")
        return number


class SlugParamField(_Field):
    def parse(self, value: str) -> str:
        if len(value) > 100 or not SLUG.fullmatch(value):
            raise forms.ValidationError("Give an actor's slug, as listed by /api/v1/actors/.")
        return value


class CountryParamField(_Field):
    def parse(self, value: str) -> str:
        code = value.upper()
        if len(code) != 3 or pycountry.countries.get(alpha_3=code) is None:
            raise forms.ValidationError("Give an ISO 3166-1 alpha-3 country code, such as IRQ or SYR.")
        return code


class TextParamField(_Field):
    def parse(self, value: str) -> str | None:
        text = value.strip()
        if len(text) > MAX_TEXT:
            raise forms.ValidationError(f"At most {MAX_TEXT} characters.")
        return text or None


class RepeatedWidget(forms.Widget):
    """?kind=a&kind=b and ?kind=a,b both work: scripts tend to send the first, forms the second."""

    def value_from_datadict(self, data, files, name):
        return [part for value in data.getlist(name) for part in value.split(",") if part != ""]


class RepeatedChoiceField(_Field):
    """Values from `choices`, repeated or comma-separated; `unknown` says what to do about another ({!r} it)."""

    widget = RepeatedWidget

    def __init__(self, *, choices: list[str], unknown: str, **kwargs):
        self.choices, self.unknown = choices, unknown
        super().__init__(**kwargs)

    def to_python(self, value):
        values = list(dict.fromkeys(value or []))
        unknown = [value for value in values if value not in self.choices]
        if unknown:
            raise forms.ValidationError(self.unknown.format(unknown[0]))
        return tuple(values) or None


class KindsField(RepeatedChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Kind.values, unknown="Unknown kind {!r}; see /api/v1/kinds/ for the codes.", **kwargs)


class DateTimeParamField(_Field):
    """An RFC 3339 date-time, or a date (its midnight); without a time zone, UTC."""

    def parse(self, value: str) -> dt.datetime:
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            raise forms.ValidationError("Give a date-time such as 2026-11-12T10:00:00Z, or a date.") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class IntervalField(_Field):
    """OGC API `datetime`: an instant, or an interval `start/end` where either end may be open (`..` or empty).

    Incidents are dated to the day, so a date-time is taken to mean its (UTC) day.
    """

    def parse(self, value: str) -> tuple[dt.date | None, dt.date | None]:
        parts = value.split("/")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] in ("", "..") and parts[1] in ("", "..")):
            raise forms.ValidationError("Give an instant or an interval start/end (either end may be '..').")
        try:
            days = [None if part in ("", "..") and len(parts) == 2 else _day_of(part) for part in parts]
        except (ValueError, OverflowError):  # OverflowError: a time zone that moves the day past year 1 or 9999
            raise forms.ValidationError(
                "Give RFC 3339 dates or date-times, such as 2021-03-03 or 2021-03-03T12:00:00Z."
            ) from None
        if len(days) == 1:
            return days[0], days[0]
        start, end = days
        if start and end and start > end:
            raise forms.ValidationError("The end must not come before the start.")
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


class ParamFilter(django_filters.Filter):
    """A filter over one query parameter, applied by a QuerySet method and documented by `schema`."""

    def __init__(self, field_class: type[forms.Field], *, schema: dict, many: bool = False, **kwargs):
        # Keyword arguments other than the filter's own (method, help_text, ...) go to the form field.
        self.field_class = field_class
        self.schema, self.many = schema, many
        super().__init__(**kwargs)


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose problems go to the request's QueryReader, so that every bad parameter of a request,
    filter or not, is answered in one 400 naming each."""

    @classmethod
    def parameter_names(cls) -> set[str]:
        return set(cls.base_filters)

    @classmethod
    def read(cls, reader: QueryReader, queryset=None):
        for name, spec in cls.base_filters.items():
            many = isinstance(spec, ParamFilter) and spec.many
            if not many and len([v for v in reader.query.getlist(name) if v != ""]) > 1:
                reader.error(name, "Give this parameter once.")
        filterset = cls(data=reader.query, queryset=queryset)
        filterset.form.is_valid()
        for name, messages in filterset.form.errors.items():
            if not reader.has_error(name):
                for message in messages:
                    reader.error(name, message)
        return filterset

    @property
    def values(self) -> dict:
        """Each filter's validated value, None where it was absent (or refused)."""
        cleaned = getattr(self.form, "cleaned_data", {})
        return {name: cleaned.get(name) for name in self.filters}


class IncidentFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end must not come before the start.")
        return cleaned


DATE = {"type": "string", "format": "date"}
INTEGER = {"type": "integer"}
STRING = {"type": "string"}


def bbox_with_heights() -> ParamFilter:
    """OGC's bbox, which may carry heights (ignored), as the OGC items and the bases take it."""
    return ParamFilter(
        BBoxField, schema=STRING, allow_3d=True, method="in_bbox",
        help_text="minLon,minLat,maxLon,maxLat (or with heights, six numbers) in WGS 84.",
    )  # fmt: skip


class IncidentFilterSet(StrictFilterSet):
    """The incident filters of /api/v1/incidents/, its clusters, the timeline, links and analytics."""

    bbox = ParamFilter(
        BBoxField, schema=STRING, method="in_bbox",
        help_text="minLon,minLat,maxLon,maxLat in WGS 84, e.g. `38,32,44,37`.",
    )  # fmt: skip
    start = ParamFilter(IsoDateField, schema=DATE, method="from_day", help_text="First day (inclusive).")
    end = ParamFilter(IsoDateField, schema=DATE, method="to_day", help_text="Last day (inclusive).")
    kind = ParamFilter(
        KindsField, schema={"type": "string", "enum": list(Kind.values)}, many=True, method="of_kinds",
        help_text="Repeat for several: ?kind=a&kind=b.",
    )  # fmt: skip
    actor = ParamFilter(
        SlugParamField, schema=STRING, method="involving",
        help_text="An actor's slug: incidents it attacked or was targeted in.",
    )  # fmt: skip
    country = ParamFilter(
        CountryParamField, schema=STRING, method="in_country", help_text="ISO 3166-1 alpha-3, e.g. IRQ."
    )
    base = ParamFilter(
        WholeNumberField, schema=INTEGER, minimum=1, maximum=MAX_ID, method="targeting",
        help_text="The id of the targeted base.",
    )  # fmt: skip
    q = ParamFilter(
        TextParamField, schema=STRING, method="search",
        help_text="Text in the title, summary or place name (case-insensitive).",
    )  # fmt: skip
    min_casualties = ParamFilter(
        WholeNumberField, schema=INTEGER, minimum=0, maximum=MAX_INT, method="with_min_casualties",
        help_text="At least this many casualties (best estimate).",
    )  # fmt: skip

    class Meta:
        model = Incident
        fields: list[str] = []
        form = IncidentFilterForm

    def in_bbox(self, qs, name, value):
        return qs.in_bbox(value)

    def from_day(self, qs, name, value):
        return qs.between(value, None)

    def to_day(self, qs, name, value):
        return qs.between(None, value)

    def of_kinds(self, qs, name, value):
        return qs.of_kinds(value)

    def involving(self, qs, name, value):
        return qs.involving(value)

    def in_country(self, qs, name, value):
        return qs.in_country(value)

    def targeting(self, qs, name, value):
        return qs.targeting(value)

    def search(self, qs, name, value):
        return qs.search(value)

    def with_min_casualties(self, qs, name, value):
        # 0 casualties at least is every incident.
        return qs.with_min_casualties(value) if value else qs


# The kinds of public change (api/changes.py says what each is).
CHANGE_KINDS = ["published", "updated", "retracted", "restored"]


class ChangeFilterSet(IncidentFilterSet):
    """The incident filters, and two of the changes' own: `since` a moment, and `change` the kinds of change."""

    since = ParamFilter(
        DateTimeParamField, schema={"type": "string", "format": "date-time"}, method="of_changes",
        help_text="Changes made at or after this moment (RFC 3339; a date is its midnight UTC).",
    )  # fmt: skip
    change = ParamFilter(
        RepeatedChoiceField, schema={"type": "string", "enum": CHANGE_KINDS}, many=True, method="of_changes",
        choices=CHANGE_KINDS, unknown="Unknown change {!r}; choose from " + ", ".join(CHANGE_KINDS) + ".",
        help_text="Kinds of change; repeat for several: ?change=updated&change=retracted.",
    )  # fmt: skip

    def of_changes(self, qs, name, value):
        return qs  # read by ChangeListView: they select changes, not incidents


class OgcIncidentFilterSet(IncidentFilterSet):
    """The same filters as OGC API – Features names them: `datetime` instead of start and end, and a bbox
    that may carry heights."""

    bbox = bbox_with_heights()
    start = None
    end = None
    datetime = ParamFilter(
        IntervalField, schema=STRING, method="in_interval",
        help_text="An instant or an interval start/end; either end may be '..'.",
    )  # fmt: skip

    def in_interval(self, qs, name, value):
        return qs.between(*value)


class BaseFilterSet(StrictFilterSet):
    """Bases filter as incidents do: the same box and country parameters, through Base's QuerySet."""

    bbox = bbox_with_heights()
    country = ParamFilter(
        CountryParamField, schema=STRING, method="in_country", help_text="ISO 3166-1 alpha-3, e.g. IRQ."
    )

    class Meta:
        model = Base
        fields: list[str] = []

    def in_bbox(self, qs, name, value):
        return qs.in_bbox(value)

    def in_country(self, qs, name, value):
        return qs.in_country(value)


class OgcBaseFilterSet(BaseFilterSet):
    # Bases have no time of their own: datetime is read (and so validated) but selects every base.
    datetime = ParamFilter(IntervalField, schema=STRING, method="any_time", help_text="Accepted; bases are not dated.")

    def any_time(self, qs, name, value):
        return qs


@dataclass(frozen=True)
class IncidentFilters:
    """The validated incident filters of one request: what they select, and what the counted cells need."""

    filterset: IncidentFilterSet | None = None

    def _value(self, name: str):
        return None if self.filterset is None else self.filterset.values.get(name)

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        return self._value("bbox")

    @property
    def kinds(self) -> tuple[str, ...]:
        return self._value("kind") or ()

    @property
    def active(self) -> bool:
        """Whether any filter narrows the incidents."""
        return self.filterset is not None and any(v is not None for v in self.filterset.values.values())

    @property
    def only_place_and_kind(self) -> bool:
        """Whether nothing but the bounding box and the kinds narrows the incidents (what map cells count)."""
        if self.filterset is None:
            return True
        return all(v is None for name, v in self.filterset.values.items() if name not in ("bbox", "kind"))

    def apply(self, incidents: IncidentQuerySet) -> IncidentQuerySet:
        return incidents if self.filterset is None else self.filterset.filter_queryset(incidents)

    def queryset(self, user) -> IncidentQuerySet:
        """What this user may see of the incidents that match."""
        return self.apply(Incident.objects.visible_to(user))


INCIDENT_FILTER_NAMES = IncidentFilterSet.parameter_names()
OGC_INCIDENT_FILTER_NAMES = OgcIncidentFilterSet.parameter_names()


def read_incident_filters(reader: QueryReader, *, dates: str = "start_end") -> IncidentFilters:
    """The incident filters of a request. `dates="datetime"` reads OGC's datetime instead of start/end."""
    filterset_class = OgcIncidentFilterSet if dates == "datetime" else IncidentFilterSet
    return IncidentFilters(filterset_class.read(reader, Incident.objects.none()))


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


# Sort fields whose keys JSON carries as ISO text: a day, and a moment (the changes' history_date).
DATED_KEYS = {"occurred_on": dt.date.fromisoformat, "history_date": dt.datetime.fromisoformat}


def sort_key(sort_field: str, plain):
    """A sort key as JSON carries it, in a cursor or from PostgreSQL's ends of a page: days and moments as ISO."""
    return DATED_KEYS[sort_field](plain) if sort_field in DATED_KEYS else plain


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
        key = sort_key(sort_field, key)
        highest = MAX_ID if sort_field == "id" else MAX_INT
        if sort_field not in DATED_KEYS and (type(key) is not int or not 0 <= key <= highest):
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
