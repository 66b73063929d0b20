"""Field readers shared by the formats: each reads one value as real files have it, or records on `errors`
what was read and why it is refused. A value is never quietly misread."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pycountry

from posture.countries import code_for_name

from ..models.incidents import EARLIEST_DATE, latest_date
from .records import RowErrors

_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"]  # fmt: skip
MONTHS = {name.lower(): n for n, name in enumerate(_MONTH_NAMES, start=1)}
MONTHS |= {name[:3].lower(): n for name, n in zip(_MONTH_NAMES, range(1, 13), strict=True)} | {"sept": 9}

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# 09 May 2020, 9-May-20, 9 May 20, 9-Sept-2020: ACLED's exports and what spreadsheets make of them.
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[ -]([A-Za-z]+)\.?[ -](\d{4}|\d{2})")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]+)\.? (\d{1,2}),? (\d{4})")  # May 9, 2020
DATE_FORMS = "use YYYY-MM-DD, or day, month name and year as in 9 May 2020"


def read_date(value: str, field: str, errors: RowErrors, *, year: int | None = None) -> dt.date | None:
    """A date as ISO (2020-05-09) or with a month name (09 May 2020, 9-May-20, 9 May 20, May 9, 2020).

    A two-digit year takes its century from `year` (the row's `year` column, as ACLED has), and must agree
    with it; without one it is refused, never guessed. Slashed dates (5/9/2020) are refused: day/month or
    month/day cannot be told apart. So is a date before 1900 or after tomorrow.
    """
    value = value.strip()
    if not value:
        errors.add(field, "missing")
        return None
    if match := _ISO.fullmatch(value):
        y, month, day = match[1], int(match[2]), int(match[3])
    elif (match := _DAY_MONTH_YEAR.fullmatch(value)) or (match := _MONTH_DAY_YEAR.fullmatch(value)):
        day_first = match.re is _DAY_MONTH_YEAR
        name, day, y = (match[2], int(match[1]), match[3]) if day_first else (match[1], int(match[2]), match[3])
        month = MONTHS.get(name.lower())
        if month is None:
            errors.add(field, f"{value!r}: {name!r} is not a month name")
            return None
    else:
        hint = "day/month or month/day cannot be told apart" if "/" in value else DATE_FORMS
        errors.add(field, f"{value!r} is not a date ({hint})")
        return None
    if len(y) == 2:
        if year is None:
            errors.add(field, f"{value!r} has a two-digit year, and no year column says which century")
            return None
        if year % 100 != int(y):
            errors.add(field, f"{value!r} has the two-digit year {y}, but the row's year is {year}")
            return None
        full_year = year
    else:
        full_year = int(y)
    try:
        date = dt.date(full_year, month, day)
    except ValueError:
        errors.add(field, f"{value!r} is not a date (read as year {full_year}, month {month}, day {day})")
        return None
    if year is not None and date.year != year:
        errors.add(field, f"{value!r} is in {date.year}, but the row's year is {year}")
        return None
    return check_date_range(date, value, field, errors)


def check_date_range(date: dt.date, value: Any, field: str, errors: RowErrors) -> dt.date | None:
    """The bounds Incident.occurred_on and its database constraint hold every incident to."""
    if date < EARLIEST_DATE:
        errors.add(field, f"{value!r} was read as {date}, before {EARLIEST_DATE}")
        return None
    latest = latest_date()
    if date > latest:
        errors.add(field, f"{value!r} was read as {date}, after tomorrow ({latest})")
        return None
    return date


def read_int(value: Any, field: str, errors: RowErrors, *, default: int | None = None, choices=None) -> int | None:
    """A whole number, also as a spreadsheet writes one (2.0); a fraction, a negative or a word is refused."""
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
    """ACLED's `iso` is the numeric ISO 3166 code; our exports and UCDP's iso3 carry alpha-3. Fall back to the
    English name."""
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


def split_names(value: Any, separator: str = ";") -> list[str]:
    """ACLED lists associated actors and sources separated by semicolons, UCDP a side's actors by commas."""
    if not value:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(separator) if part.strip()]
