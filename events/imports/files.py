"""Reading files: CSV records as dicts (numbered as a spreadsheet shows them), JSON, and the shape of a format."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from .records import ImportFileError, KeyedRecords, Record, RowProblem


@contextlib.contextmanager
def text_stream(stream: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    """The file as text from its start. Detached afterwards: closing the wrapper would close the file."""
    stream.seek(0)
    # utf-8-sig drops the byte-order mark spreadsheet programs write.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield text
    finally:
        text.detach()


def is_hashtag_row(values: list[str]) -> bool:
    """HDX's row of HXL tags under the header (#date+year, #geo+lat, ...): a description, not an event."""
    filled = [v.strip() for v in values if v.strip()]
    return bool(filled) and all(v.startswith("#") for v in filled)


def read_header(stream: IO[bytes]) -> list[str]:
    with text_stream(stream) as text:
        try:
            return [name.strip().lower() for name in next(csv.reader(text))]
        except StopIteration:
            raise ImportFileError("The file is empty.") from None
        except csv.Error as exc:
            raise ImportFileError(f"The file is not CSV: {exc}.") from None


def _starts_with_hashtag_row(stream: IO[bytes]) -> bool:
    with text_stream(stream) as text:
        reader = csv.reader(text)
        try:
            next(reader)
            return is_hashtag_row(next(reader))
        except (StopIteration, csv.Error):
            return False


def count_csv_records(stream: IO[bytes]) -> int:
    """Records after the header (and after HDX's hashtag row). A newline inside a quoted field does not end a
    record: quotes are counted line by line, and a record ends where the count is even (an escaped "" adds
    two)."""
    stream.seek(0)
    records = quotes = 0
    for line in stream:
        quotes += line.count(b'"')
        if not quotes % 2:
            quotes = 0
            if line.strip():
                records += 1
    return max(0, records - 1 - _starts_with_hashtag_row(stream))


class CsvReader:
    """Records of a CSV file as dicts, numbered as a spreadsheet shows them (the header is row 1)."""

    def __init__(self, stream: IO[bytes], required: Iterable[str], label: str = "this format") -> None:
        self.stream = stream
        self.required = list(required)
        self.label = label

    def header(self) -> list[str]:
        header = read_header(self.stream)
        missing = [name for name in self.required if name not in header]
        if missing:
            raise ImportFileError(
                f"Missing column(s): {', '.join(missing)}. {self.label} has the columns {', '.join(self.required)}."
            )
        return header

    def records(self) -> Iterator[tuple[int, dict[str | None, str]]]:
        """(row, record); a malformed record is {None: what is wrong with it}."""
        header = self.header()
        with text_stream(self.stream) as text:
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
                if row == 2 and is_hashtag_row(values):
                    continue
                if len(values) != len(header):
                    yield row, {None: f"has {len(values)} fields where the header has {len(header)}"}
                    continue
                yield row, dict(zip(header, values, strict=True))


def keyed_records(
    reader: CsvReader,
    start: int,
    dataset: str,
    key: Callable[[dict], str],
    parse: Callable[[dict, int, str], Record],
) -> KeyedRecords:
    """The records of a CSV format whose rows carry their external id in one column (`key` reads it), parsed
    from the `start`-th on; the ones before are only counted."""
    for index, (row, record) in enumerate(reader.records()):
        external_id = key(record)
        if index < start:
            yield row, (dataset, external_id), None
        elif None in record:
            yield row, (dataset, ""), RowProblem(row, "", f"row {record[None]}")
        else:
            yield row, (dataset, external_id), parse(record, row, dataset)


def decode_json(stream: IO[bytes]) -> Any:
    stream.seek(0)
    try:
        return json.load(codecs.getreader("utf-8-sig")(stream))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"The file is not valid JSON: {exc}") from None


@dataclass
class FileFormat:
    """How to read one format: check it, count its records, and read them from the `start`-th on."""

    label: str
    check: Callable[[IO[bytes]], None]
    count: Callable[[IO[bytes]], int]
    records: Callable[[IO[bytes], int, str], KeyedRecords]
    # CSV formats: the columns that tell this format's header from the others'.
    columns: tuple[str, ...] = ()
