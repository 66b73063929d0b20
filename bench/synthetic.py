"""Synthetic incidents for the benchmarks, loaded by COPY into a database of their own.

    .venv/bin/python -m bench.synthetic [--n 1000000] [--database posture_bench] [--force]

or, from another benchmark, `bench.synthetic.load(n)`. The database (default `posture_bench`, on the private
cluster; BENCH_DATABASE overrides) is created and migrated if needed, then filled with N incidents over
lon 35–49, lat 29–38 and 2011–2025: realistic mixes of kinds (rocket, drone and IED attacks most common,
then clashes and strikes, a few signals and political events), clustered around real bases and towns,
with attackers and targets, casualty figures (most incidents have none), sources, some links between
incidents that answer each other, and 2% drafts. Same N and seed, same data: a second call is a no-op.
Sizes other than the million go to `posture_bench_<N>`, so a quick run never replaces the data set another
benchmark is using.

Secondary indexes are dropped for the load and rebuilt after it, then the tables are analyzed, as one
would for any bulk load; the indexes themselves are the migrations' own.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SOCKET_DIR = ROOT / "var" / "run"
PORT = 54329
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "posture_bench")
DATASET = "synthetic"
SEED = 20210303

MIN_LON, MAX_LON, MIN_LAT, MAX_LAT = 35.0, 49.0, 29.0, 38.0

# kind: (weight, located share)
KINDS = {
    "rocket_attack": (24, 1.0),
    "drone_attack": (12, 1.0),
    "ied": (15, 1.0),
    "armed_clash": (14, 1.0),
    "ballistic_missile_strike": (1, 1.0),
    "air_strike": (13, 1.0),
    "drone_strike": (7, 1.0),
    "show_of_force": (3, 0.8),
    "posture_announcement": (3, 0.6),
    "statement": (4, 0.3),
    "diplomatic_move": (2, 0.3),
    "context": (2, 0.5),
}
ATTACKS = {"rocket_attack", "drone_attack", "ied", "armed_clash", "ballistic_missile_strike"}
STRIKES = {"air_strike", "drone_strike"}
# Conflict intensity by year, relative: the war against the Islamic State, then the militia campaign.
YEAR_WEIGHTS = {
    2011: 3, 2012: 4, 2013: 5, 2014: 9, 2015: 10, 2016: 10, 2017: 9, 2018: 6,
    2019: 7, 2020: 8, 2021: 6, 2022: 4, 2023: 5, 2024: 7, 2025: 4,
}  # fmt: skip

# (slug, name, kind, country): attackers of attacks / targets of strikes first, then the forces they hit.
MILITIAS = [
    ("kataib-hezbollah", "Kata'ib Hezbollah", "armed_group", "IRQ"),
    ("kataib-sayyid-al-shuhada", "Kata'ib Sayyid al-Shuhada", "armed_group", "IRQ"),
    ("harakat-al-nujaba", "Harakat al-Nujaba", "armed_group", "IRQ"),
    ("asaib-ahl-al-haq", "Asa'ib Ahl al-Haq", "armed_group", "IRQ"),
    ("saraya-awliya-al-dam", "Saraya Awliya al-Dam", "armed_group", "IRQ"),
    ("islamic-resistance-in-iraq", "Islamic Resistance in Iraq", "armed_group", "IRQ"),
    ("islamic-state", "Islamic State", "armed_group", ""),
    ("hayat-tahrir-al-sham", "Hay'at Tahrir al-Sham", "armed_group", "SYR"),
    ("irgc-qf", "IRGC-Qods Force", "state_force", "IRN"),
    ("unidentified", "Unidentified armed group", "armed_group", ""),
]
FORCES = [
    ("united-states", "United States", "state", "USA"),
    ("cjtf-oir", "CJTF-Operation Inherent Resolve", "mission", ""),
    ("nato-mission-iraq", "NATO Mission Iraq", "mission", ""),
    ("iraq", "Iraq", "state", "IRQ"),
    ("syria", "Syria", "state", "SYR"),
    ("israel", "Israel", "state", "ISR"),
    ("turkey", "Turkey", "state", "TUR"),
    ("russia", "Russia", "state", "RUS"),
    ("sdf", "Syrian Democratic Forces", "armed_group", "SYR"),
    ("pmf", "Popular Mobilization Forces", "state_force", "IRQ"),
    ("kurdistan-region", "Kurdistan Regional Government", "state_force", "IRQ"),
    ("iran", "Iran", "state", "IRN"),
]
STRIKERS = ["united-states", "israel", "turkey", "russia", "iraq", "cjtf-oir"]

# (slug, name, lon, lat, country): bases, and the towns incidents cluster around.
BASES = [
    ("ayn-al-asad", "Ayn al-Asad Air Base", 42.4412, 33.7856, "IRQ"),
    ("baghdad-airport", "Baghdad International Airport", 44.2346, 33.2625, "IRQ"),
    ("erbil-airport", "Erbil Air Base", 43.9631, 36.2378, "IRQ"),
    ("k1", "K-1 Air Base", 44.2842, 35.5125, "IRQ"),
    ("balad", "Balad Air Base", 44.3616, 33.9402, "IRQ"),
    ("taji", "Camp Taji", 44.2567, 33.5244, "IRQ"),
    ("harir", "Harir Air Base", 44.3528, 36.5361, "IRQ"),
    ("qayyarah", "Qayyarah Airfield West", 43.1250, 35.7661, "IRQ"),
    ("victory", "Camp Victory", 44.2436, 33.2927, "IRQ"),
    ("baghdad-embassy", "US Embassy Baghdad", 44.3961, 33.2986, "IRQ"),
    ("al-tanf", "Al-Tanf Garrison", 38.6333, 33.5000, "SYR"),
    ("green-village", "Green Village", 40.4500, 35.0300, "SYR"),
    ("conoco", "Conoco gas field", 40.4100, 35.1900, "SYR"),
    ("rmeilan", "Rmeilan Landing Zone", 42.0400, 36.9000, "SYR"),
    ("shaddadi", "Al-Shaddadi", 40.7300, 36.0500, "SYR"),
    ("kharab-al-jir", "Kharab al-Jir", 42.1100, 36.8200, "SYR"),
    ("tower-22", "Tower 22", 38.7700, 33.3200, "JOR"),
]
TOWNS = [
    ("Mosul", 43.1189, 36.3400, "IRQ"),
    ("Kirkuk", 44.3922, 35.4681, "IRQ"),
    ("Basra", 47.7804, 30.5085, "IRQ"),
    ("Fallujah", 43.7794, 33.3491, "IRQ"),
    ("Ramadi", 43.3054, 33.4258, "IRQ"),
    ("Tikrit", 43.6860, 34.6071, "IRQ"),
    ("Abu Kamal", 40.9186, 34.4531, "SYR"),
    ("Deir ez-Zor", 40.1417, 35.3359, "SYR"),
    ("Raqqa", 39.0100, 35.9500, "SYR"),
    ("Damascus", 36.2913, 33.5138, "SYR"),
    ("Homs", 36.7167, 34.7333, "SYR"),
    ("Palmyra", 38.2683, 34.5503, "SYR"),
    ("Hasakah", 40.7489, 36.5021, "SYR"),
    ("Sulaymaniyah", 45.4329, 35.5613, "IRQ"),
    ("Najaf", 44.3141, 32.0259, "IRQ"),
]


def database_url(name: str = BENCH_DATABASE) -> str:
    """A DATABASE_URL for settings (dj-database-url) pointing at a database of the private cluster."""
    return f"postgis://posture@/{name}?host={SOCKET_DIR}&port={PORT}"


def connect(name: str, **kwargs) -> psycopg.Connection:
    """A plain psycopg connection. JIT off, as the site's connections have it (config/settings.py); and no
    automatic prepared statements: after five runs psycopg would prepare a query, and PostgreSQL's generic
    plan for it (one plan for any bbox and dates) can take a page from a second to minutes."""
    conn = psycopg.connect(host=str(SOCKET_DIR), port=PORT, user="posture", dbname=name, options="-c jit=off", **kwargs)
    conn.prepare_threshold = None
    return conn


def ensure_database(name: str) -> None:
    with connect("postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def migrate(name: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(name)}
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)


def loaded(conn: psycopg.Connection) -> tuple[int, int] | None:
    conn.execute("CREATE TABLE IF NOT EXISTS bench_synthetic (n integer, seed integer, loaded_at timestamptz)")
    return conn.execute("SELECT n, seed FROM bench_synthetic").fetchone()


def database_for(n: int) -> str:
    """posture_bench holds the full million; other sizes get their own database, so a quick run with 100,000
    never replaces the data set another benchmark (bench/dashboard.py) is measuring."""
    return BENCH_DATABASE if n == 1_000_000 else f"{BENCH_DATABASE}_{n}"


def load(n: int = 1_000_000, *, database: str | None = None, seed: int = SEED, force: bool = False) -> dict:
    """Make `database` (default: database_for(n)) hold the synthetic data set of `n` incidents; a no-op
    when it already does. Returns {"database", "n", "seconds", "loaded"}."""
    database = database or database_for(n)
    started = time.perf_counter()
    ensure_database(database)
    migrate(database)
    with connect(database) as conn:
        if not force and loaded(conn) == (n, seed):
            conn.commit()
            return {"database": database, "n": n, "seconds": 0.0, "loaded": False}
        _fill(conn, n, seed)
    with connect(database, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"database": database, "n": n, "seconds": round(time.perf_counter() - started, 1), "loaded": True}


BIG_TABLES = [
    "events_incident",
    "events_involvement",
    "events_incident_sources",
    "events_casualty",
    "events_incidentlink",
    "events_incidentlink_sources",
]


def _fill(conn: psycopg.Connection, n: int, seed: int) -> None:
    rng = random.Random(seed)
    # Foreign keys are right by construction; skipping their per-row triggers makes COPY several times faster.
    conn.execute("SET session_replication_role = replica")
    conn.execute(
        "TRUNCATE events_incident, events_involvement, events_incident_sources, events_casualty, "
        "events_incidentlink, events_incidentlink_sources, posture_trooplevel_sources, posture_trooplevel, "
        "posture_basestatus, posture_base_users, posture_base_sources, posture_base, posture_actor, "
        "posture_source, bench_synthetic RESTART IDENTITY CASCADE"
    )
    indexes = conn.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        (BIG_TABLES,),
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')

    actors = MILITIAS + FORCES
    actor_id = {slug: i + 1 for i, (slug, *_rest) in enumerate(actors)}
    _copy(conn, "posture_actor", ["id", "name", "slug", "kind", "country", "aliases", "description"], (
        (actor_id[slug], name, slug, kind, country, "{}", "") for slug, name, kind, country in actors
    ))  # fmt: skip
    base_columns = ["id", "name", "slug", "alternate_names", "location", "country", "kind", "description"]
    _copy(conn, "posture_base", base_columns, (
        (i + 1, name, slug, "{}", f"SRID=4326;POINT({lon} {lat})", country, "air_base", "")
        for i, (slug, name, lon, lat, country) in enumerate(BASES)
    ))  # fmt: skip
    _copy(conn, "posture_base_users", ["base_id", "actor_id"], (
        (i + 1, actor_id["united-states" if country != "SYR" else "cjtf-oir"]) for i, (*_r, country) in enumerate(BASES)
    ))  # fmt: skip
    _copy(conn, "posture_basestatus", ["base_id", "status", "start_on", "end_on", "note"], (
        (i + 1, "active", "2014-06-01", r"\N", "") for i in range(len(BASES))
    ))  # fmt: skip
    sources = 500
    _copy(conn, "posture_source", ["id", "publisher", "title", "url", "published_on", "reliability", "note"], (
        (i + 1, rng.choice(["Reuters", "AP", "AFP", "ACLED", "CENTCOM", "Rudaw", "SOHR", "Al-Monitor"]),
         f"Report {i + 1}", f"https://news.example.org/{i + 1}", r"\N", rng.choice("ABCDF"), "")
        for i in range(sources)
    ))  # fmt: skip
    _troop_levels(conn, actor_id)

    year_days = [(year, weight) for year, weight in YEAR_WEIGHTS.items()]
    kinds, kind_weights = list(KINDS), [w for w, _ in KINDS.values()]
    # Dates drawn first and sorted, so ids follow dates, as they would in a dataset loaded in order.
    years = rng.choices([y for y, _ in year_days], weights=[w for _, w in year_days], k=n)
    dates = sorted(dt.date(y, 1, 1) + dt.timedelta(days=rng.randrange(366 if y % 4 == 0 else 365)) for y in years)
    incident_rows = io.StringIO()
    involvement_rows, source_rows, casualty_rows, link_rows, link_source_rows = (io.StringIO() for _ in range(5))
    now = dt.datetime.now(dt.UTC).isoformat()
    link_id = 0
    for pk, day in enumerate(dates, start=1):
        kind = rng.choices(kinds, weights=kind_weights)[0]
        located = rng.random() < KINDS[kind][1]
        base_id = r"\N"
        place, country = "", "IRQ"
        if located:
            roll = rng.random()
            if roll < 0.35:
                b = rng.randrange(len(BASES))
                _, name, lon0, lat0, country = BASES[b]
                lon, lat, place = rng.gauss(lon0, 0.05), rng.gauss(lat0, 0.05), name
                if kind in ATTACKS:
                    base_id = str(b + 1)
            elif roll < 0.75:
                name, lon0, lat0, country = rng.choice(TOWNS)
                lon, lat, place = rng.gauss(lon0, 0.25), rng.gauss(lat0, 0.25), f"near {name}"
            else:
                lon, lat = rng.uniform(MIN_LON, MAX_LON), rng.uniform(MIN_LAT, MAX_LAT)
                country = "SYR" if lon < 42.0 and lat > 32.3 else "IRQ"
            lon, lat = min(max(lon, MIN_LON), MAX_LON), min(max(lat, MIN_LAT), MAX_LAT)
            location = f"SRID=4326;POINT({lon:.5f} {lat:.5f})"
        else:
            location = r"\N"
        casualties = fatalities = 0
        if (kind in ATTACKS or kind in STRIKES) and rng.random() < 0.35:
            casualties = min(int(rng.expovariate(1 / 6)) + 1, 400)
            fatalities = rng.randint(0, casualties)
        precision = 1 if rng.random() < 0.85 else rng.choice((2, 3))
        status = "draft" if rng.random() < 0.02 else "published"
        title = f"{kind.replace('_', ' ').capitalize()} {place or 'in the region'}"
        incident_rows.write(
            f"{pk}\t{day.isoformat()}\t{precision}\t{kind}\t{title}\tSynthetic incident {pk}.\tunknown\t{location}\t"
            f"{1 if located else 3}\t{place}\t{country}\t\t{base_id}\t\t\\N\t{status}\t{DATASET}\t\t"
            f"{casualties}\t{fatalities}\t{now}\t{now}\n"
        )
        if kind in ATTACKS:
            attackers = [rng.choice(MILITIAS)[0]]
            targets = [rng.choice(["united-states", "cjtf-oir", "iraq", "sdf", "kurdistan-region"])]
        elif kind in STRIKES or kind == "show_of_force":
            attackers = [rng.choice(STRIKERS)]
            targets = [rng.choice(MILITIAS)[0]]
        else:
            attackers, targets = [rng.choice(FORCES)[0]], []
        if rng.random() < 0.1:
            attackers.append(rng.choice(MILITIAS)[0])
        for role, slugs in (("attacker", attackers), ("target", targets)):
            for slug in dict.fromkeys(slugs):
                involvement_rows.write(f"{pk}\t{actor_id[slug]}\t{role}\n")
        for source in {rng.randint(1, sources) for _ in range(rng.choice((1, 1, 2)))}:
            source_rows.write(f"{pk}\t{source}\n")
        if fatalities:
            casualty_rows.write(f"{pk}\tcivilians\tkilled\t\\N\t{fatalities}\t\\N\t\n")
        if casualties - fatalities:
            casualty_rows.write(f"{pk}\tother\twounded\t\\N\t{casualties - fatalities}\t\\N\t\n")
        # About 2% answer an incident of the days before: the attack-and-response chains.
        if pk > 50 and rng.random() < 0.02:
            link_id += 1
            prior = pk - rng.randint(1, min(pk - 1, max(1, n // 3000)))
            relation = rng.choice(["retaliation_for", "response_to", "escalation_of", "deterrence_signal_after"])
            confidence = rng.choice(["low", "medium", "high"])
            link_rows.write(f"{link_id}\t{pk}\t{prior}\t{relation}\tSynthetic analyst\t{confidence}\t\n")
            link_source_rows.write(f"{link_id}\t{rng.randint(1, sources)}\n")

    incident_columns = [
        "id", "occurred_on", "date_precision", "kind", "title", "summary", "attribution", "location",
        "geo_precision", "place_name", "country", "admin1", "base_id", "weapon", "munitions", "status",
        "dataset", "external_id", "casualties_best", "fatalities_best", "created_at", "updated_at",
    ]  # fmt: skip
    _copy_text(conn, "events_incident", incident_columns, incident_rows)
    _copy_text(conn, "events_involvement", ["incident_id", "actor_id", "role"], involvement_rows)
    _copy_text(conn, "events_incident_sources", ["incident_id", "source_id"], source_rows)
    _copy_text(conn, "events_casualty", ["incident_id", "group", "kind", "low", "best", "high", "note"], casualty_rows)
    link_columns = ["id", "incident_id", "prior_id", "relation", "asserted_by", "confidence", "note"]
    _copy_text(conn, "events_incidentlink", link_columns, link_rows)
    _copy_text(conn, "events_incidentlink_sources", ["incidentlink_id", "source_id"], link_source_rows)

    for _, definition in indexes:
        conn.execute(definition)
    # The map cells and sides are kept by triggers, which the replica role skipped: compute them once, as a whole.
    conn.execute("SELECT events_incidentcell_rebuild()")
    conn.execute("SELECT events_incident_sides_rebuild()")  # the incidents' sides, from their involvements
    conn.execute("SELECT ops_dataversion_bump()")  # and the data version: cached answers are of the old data
    for table in ["events_incident", "events_incidentlink", "posture_actor", "posture_base", "posture_source"]:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    conn.execute("INSERT INTO bench_synthetic VALUES (%s, %s, now())", (n, seed))
    conn.execute("SET session_replication_role = DEFAULT")
    conn.commit()


def _troop_levels(conn: psycopg.Connection, actor_id: dict[str, int]) -> None:
    rows = []
    for year in range(2014, 2026):
        for contributor, country, figure in (
            ("united-states", "IRQ", 2500),
            ("united-states", "SYR", 900),
            ("nato-mission-iraq", "IRQ", 500),
        ):
            rows.append((actor_id[contributor], country, r"\N", "about", "actual", f"{year}-01-01", figure, ""))
    for b, (_slug, name, _lon, _lat, country) in enumerate(BASES, start=1):
        rows.append((actor_id["united-states"], country, str(b), "about", "actual", "2021-03-01", 100 * b, name))
    columns = ["contributor_id", "host_country", "base_id", "qualifier", "status", "as_of", "best", "mission", "note"]
    _copy(conn, "posture_trooplevel", columns, ((*row, "") for row in rows))
    conn.execute(
        "INSERT INTO posture_trooplevel_sources (trooplevel_id, source_id) SELECT id, 1 FROM posture_trooplevel"
    )


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(str(value) for value in row) + "\n")
    _copy_text(conn, table, columns, buffer)


def _copy_text(conn: psycopg.Connection, table: str, columns: list[str], buffer: io.StringIO) -> None:
    quoted = ", ".join(f'"{c}"' for c in columns)
    data = buffer.getvalue()
    with conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        step = 1 << 22
        for start in range(0, len(data), step):
            copy.write(data[start : start + step])


# What every benchmark shares: the data set's arguments, its loading, and where results go.
RESULTS = ROOT / "bench" / "results"


def setup_django(database: str, **env: str) -> None:
    """Django in this process on the bench database, with production's DEBUG off (DEBUG records every query);
    `env` sets further settings' variables first."""
    os.environ.update(DATABASE_URL=database_url(database), DEBUG="false", **env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def copy_to_staging(database: str, path: Path, table: str, *, named: bool = True) -> float:
    """The imports' baseline: COPY the CSV file as it is into `table`, a text column per header field (named
    after it, or c0, c1, … where a real file's names could not be columns); seconds. The table is left for
    what reads it next."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    columns = header if named else [f"c{n}" for n in range(len(header))]
    with connect(database) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (" + ", ".join(f'"{c}" text' for c in columns) + ")")
        conn.commit()
        started = time.perf_counter()
        copy_sql = f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
        with conn.cursor() as cursor, path.open("rb") as data, cursor.copy(copy_sql) as copy:
            while block := data.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


def empty_incidents() -> None:
    """Before an import is timed: no incident, history row or job (through Django's connection)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_incident, events_historicalincident, events_historicalincident_sources,"
            " events_historicalinvolvement, events_historicalcasualty, events_importjob CASCADE"
        )
        cursor.execute("VACUUM ANALYZE events_incident")


def data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 1_000_000)))
    parser.add_argument("--database", help="default: posture_bench for 1,000,000, posture_bench_<N> otherwise")


def load_for(args: argparse.Namespace) -> dict:
    """Load the data set `args` name (data_arguments), filling in args.database, and say so."""
    args.database = args.database or database_for(args.n)
    result = load(args.n, database=args.database)
    print(f"{args.database}: {args.n:,} synthetic incidents ({'loaded' if result['loaded'] else 'already there'})")
    return result


def save_result(name: str, payload: dict) -> Path:
    """bench/results/<name>-<local time>.json, which the README's figures cite; prints where it went."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"written to {out.relative_to(ROOT)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_arguments(parser)
    parser.add_argument("--force", action="store_true", help="reload even if the same data set is there")
    args = parser.parse_args()
    result = load(args.n, database=args.database, force=args.force)
    state = f"loaded in {result['seconds']} s" if result["loaded"] else "already loaded"
    print(f"{result['database']}: {result['n']:,} synthetic incidents, {state}")


if __name__ == "__main__":
    main()
