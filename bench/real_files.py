"""Every real file under ../shared/data/real/ imported, as the worker imports it, into a database of its own.

    .venv/bin/python -m bench.real_files [--folder ../shared/data/real]      (make bench-real)

For each CSV file: its format as detected from its header, the rows in it (records, not lines: quoted fields
hold line breaks; HDX's hashtag row is not counted), what the import made of them (created, and the rows
reported back with a reason), its speed in rows/s against a plain COPY of the same file into a text table,
and a second import of the file, in which every row must come back unchanged. The incident tables are
emptied before each file. Database posture_bench_real on the private cluster (BENCH_REAL_DATABASE overrides),
created and migrated if needed. Writes bench/results/real-<time>.json.

The files are read where they are and never copied into the repository.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from . import synthetic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
FOLDER = ROOT.parent / "shared" / "data" / "real"
DATABASE = os.environ.get("BENCH_REAL_DATABASE", "posture_bench_real")


def setup_django() -> None:
    synthetic.ensure_database(DATABASE)
    synthetic.migrate(DATABASE)
    synthetic.setup_django(DATABASE)


def time_copy(path: Path) -> float:
    elapsed = synthetic.copy_to_staging(DATABASE, path, "bench_real_staging", named=False)
    with synthetic.connect(DATABASE) as conn:
        conn.execute("DROP TABLE bench_real_staging")
    return elapsed


def time_import(path: Path) -> tuple[float, object]:
    from django.core.files import File

    from events import imports as importing
    from events.models import ImportJob

    with path.open("rb") as f:
        fmt = importing.detect_format(path.name, f.read(4096))
        job = ImportJob.objects.create(file=File(f, name=path.name), format=fmt, via="command")
    started = time.perf_counter()
    importing.run_import(job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    return elapsed, job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.csv")) if args.folder.is_dir() else []
    if not files:
        sys.exit(f"No CSV files in {args.folder}: nothing to import.")
    setup_django()

    results = []
    for path in files:
        copy_seconds = time_copy(path)
        synthetic.empty_incidents()
        seconds, job = time_import(path)
        again_seconds, again = time_import(path)
        rows = job.rows_total or 0
        errors = list(job.row_errors.values_list("row", "external_id", "reason")[:5])
        results.append(
            {
                "file": path.name,
                "format": job.format,
                "status": job.status,
                "message": job.message,
                "rows_in": rows,
                "created": job.created_count,
                "reported": job.failed_count,
                "first_reported": errors,
                "seconds": seconds,
                "rows_per_second": rows / seconds if seconds else None,
                "copy_rows_per_second": rows / copy_seconds if copy_seconds else None,
                "share_of_copy": copy_seconds / seconds if seconds else None,
                "second_import": again.counts(),
                "second_import_rows_per_second": rows / again_seconds if again_seconds else None,
            }
        )

    print(f"\nReal files in {args.folder}, imported into database {DATABASE}\n")
    print(f"  {'file':42}{'format':>7}{'rows in':>9}{'created':>9}{'reported':>9}{'rows/s':>8}{'of COPY':>9}"
          f"{'again: unchanged':>18}")  # fmt: skip
    for r in results:
        share = f"{r['share_of_copy']:.1%}" if r["share_of_copy"] else "-"
        print(
            f"  {r['file']:42}{r['format']:>7}{r['rows_in']:>9,}{r['created']:>9,}{r['reported']:>9,}"
            f"{r['rows_per_second'] or 0:>8,.0f}{share:>9}{r['second_import']['unchanged']:>18,}"
        )
        if r["status"] != "done":
            print(f"    the import failed: {r['message']}")
        for row, external_id, reason in r["first_reported"]:
            print(f"    row {row} ({external_id or 'no id'}): {reason}")
    complete = all(
        r["status"] == "done" and r["created"] + r["reported"] == r["rows_in"] and r["second_import"]["unchanged"]
        == r["created"] for r in results
    )  # fmt: skip
    print(f"\n  every row imported or reported, and a second import unchanged: {'yes' if complete else 'NO'}")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"real-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"database": DATABASE, "files": results}, indent=2, default=str))
    print(f"  written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
