"""The formats an import reads, and telling them apart from a file's name and first bytes."""

from __future__ import annotations

import csv
from typing import IO

from ..models import ImportJob
from .acled import FORMAT as ACLED_FORMAT
from .acled import LABEL as ACLED_LABEL
from .files import FileFormat
from .own import CSV_FORMAT, CSV_LABEL, CSV_REQUIRED, GEOJSON_FORMAT
from .records import ImportFileError
from .ucdp import FORMAT as UCDP_FORMAT
from .ucdp import LABEL as UCDP_LABEL

FORMATS: dict[str, FileFormat] = {
    ImportJob.Format.ACLED: ACLED_FORMAT,
    ImportJob.Format.UCDP: UCDP_FORMAT,
    ImportJob.Format.CSV: CSV_FORMAT,
    ImportJob.Format.GEOJSON: GEOJSON_FORMAT,
}
# Our CSV export also has ACLED's columns, so it is told apart first, by its own.
_CSV_ORDER = [
    (ImportJob.Format.CSV, ("kind", "title")),
    (ImportJob.Format.ACLED, ACLED_FORMAT.columns),
    (ImportJob.Format.UCDP, UCDP_FORMAT.columns),
]
EXPECTED = (
    f"{ACLED_LABEL} has {', '.join(ACLED_FORMAT.columns)}; {UCDP_LABEL} has {', '.join(UCDP_FORMAT.columns)}; "
    f"{CSV_LABEL} has {', '.join(CSV_REQUIRED)}"
)


def detect_format(name: str, head: bytes) -> str:
    """The format of an uploaded file, from its name and first bytes. A CSV whose header is none of the
    formats' is refused here, before any job exists, naming the columns each format has."""
    lowered = name.lower()
    if lowered.endswith((".geojson", ".json")) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return ImportJob.Format.GEOJSON
    text = head.decode("utf-8-sig", errors="replace")
    try:
        first = next(csv.reader(text.splitlines()[:1]), [])
    except csv.Error:
        first = []
    columns = {c.strip().lower() for c in first}
    for fmt, wanted in _CSV_ORDER:
        if columns.issuperset(wanted):
            return fmt
    shown = ", ".join(c.strip() for c in first[:30]) or "none"
    raise ImportFileError(
        f"Missing column(s): the header is none of the formats this import reads ({EXPECTED}). "
        f"This file's columns: {shown}."
    )


def check_file(stream: IO[bytes], fmt: str) -> None:
    """Raise ImportFileError if the file cannot be read as `fmt` at all (before a job is created for it)."""
    FORMATS[fmt].check(stream)
    stream.seek(0)
