"""Synthetic ACLED rows, as ACLED's CSV export and API have them (used by the job tests and bench/)."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

COLUMNS = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type",
    "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2", "interaction", "civilian_targeting",
    "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude", "geo_precision",
    "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
]  # fmt: skip

COUNTRIES = [
    ("368", "Iraq", "IRQ", ["Al Anbar", "Baghdad", "Erbil", "Ninewa"]),
    ("760", "Syria", "SYR", ["Deir ez Zor", "Al Hasakeh", "Homs"]),
]
EVENTS = [
    ("Explosions/Remote violence", "Shelling/artillery/missile attack", "rockets were fired at the base"),
    ("Explosions/Remote violence", "Air/drone strike", "an air strike hit a militia depot"),
    ("Explosions/Remote violence", "Air/drone strike", "a one-way drone struck the airfield"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED", "an IED struck a logistics convoy"),
    ("Battles", "Armed clash", "militants clashed with security forces"),
    ("Strategic developments", "Other", "a B-52 bomber overflight was reported over the Gulf"),
    ("Strategic developments", "Agreement", "officials agreed to resume talks"),
]
ATTACKERS = [
    "Islamic Resistance in Iraq",
    "Kataib Hezbollah",
    "Unidentified Armed Group (Iraq)",
    "Military Forces of the United States (2021-)",
]
TARGETS = ["Military Forces of the United States (2021-)", "Civilians (Iraq)", "Kataib Hezbollah", ""]
SOURCES = ["Shafaq News", "Rudaw", "Reuters", "Kurdistan 24", "Xinhua"]


def acled_rows(count: int, *, seed: int = 5, first: int = 1, timestamp: int = 1_614_900_000) -> list[dict[str, str]]:
    """`count` events numbered from `first` (event_id_cnty IRQ<n> / SYR<n>), reproducible from `seed`."""
    rng = random.Random(seed)
    rows = []
    for n in range(first, first + count):
        iso, country, code, provinces = rng.choice(COUNTRIES)
        event_type, sub_event_type, what = rng.choice(EVENTS)
        day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(2200))
        place = f"Place {rng.randrange(400)}"
        row = {
            "event_id_cnty": f"{code[:3]}{n}",
            "event_date": day.isoformat(),
            "year": str(day.year),
            "time_precision": str(rng.choice([1, 1, 1, 2, 3])),
            "disorder_type": "Political violence",
            "event_type": event_type,
            "sub_event_type": sub_event_type,
            "actor1": rng.choice(ATTACKERS),
            "assoc_actor_1": rng.choice(["", "", "Harakat Hezbollah al-Nujaba"]),
            "inter1": "2",
            "actor2": rng.choice(TARGETS),
            "assoc_actor_2": "",
            "inter2": "8",
            "interaction": "28",
            "civilian_targeting": "",
            "iso": iso,
            "region": "Middle East",
            "country": country,
            "admin1": rng.choice(provinces),
            "admin2": "",
            "admin3": "",
            "location": place,
            "latitude": f"{rng.uniform(29.5, 37.0):.4f}",
            "longitude": f"{rng.uniform(38.5, 47.5):.4f}",
            "geo_precision": str(rng.choice([1, 1, 2, 3])),
            "source": "; ".join(rng.sample(SOURCES, rng.randint(1, 2))),
            "source_scale": "National",
            "notes": f"On {day:%d %B %Y}, {what} near {place}. Event {n}.",
            "fatalities": str(rng.choice([0, 0, 0, 1, 2, 5])),
            "tags": "",
            "timestamp": str(timestamp + n),
        }
        rows.append(row)
    return rows


def write_acled_csv(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
