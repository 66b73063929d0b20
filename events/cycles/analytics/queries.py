"""What every measure reads the database with. PostgreSQL does the pairing, windows and counts in set-based
statements; these run them.

Analytics read published incidents only, whoever asks, so a draft never shapes a public figure. The incident
filters choose what is measured (the actions, the answers, the counted attacks); what they are measured against
(the next attack, the priors) is every published incident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import QuerySet

from ...models import Incident


def compiled(queryset: QuerySet, *fields: str) -> tuple[str, list]:
    sql, params = queryset.order_by().values(*fields).query.sql_with_params()
    return sql, list(params)


def fetch(sql: str, params: Sequence, *, as_written: bool = False) -> list[tuple]:
    """Rows of one statement. `as_written` joins in the order the statement is written: from the few link
    rows outwards, which a planner misled by stale statistics (a table just loaded) would not."""
    with transaction.atomic(), connection.cursor() as cursor:
        # unnest() is estimated at 10 rows a call, so these statements look a thousand times costlier than
        # they are, and JIT compiling them took 0.3 to 1 s of each at 1,000,000 incidents for nothing.
        cursor.execute("SET LOCAL jit = off")
        if as_written:
            cursor.execute("SET LOCAL join_collapse_limit = 1")
            cursor.execute("SET LOCAL from_collapse_limit = 1")
        cursor.execute(sql, params)
        return cursor.fetchall()


def published() -> QuerySet:
    return Incident.objects.published()


def last_date() -> dt.date | None:
    """The data's last date: windows still open are censored there."""
    return published().order_by("-occurred_on").values_list("occurred_on", flat=True).first()


def first_date() -> dt.date | None:
    return published().order_by("occurred_on").values_list("occurred_on", flat=True).first()


def side_labels(keys: Iterable[str]) -> dict[str, str]:
    """Names for side keys: a side's name, or the actor's for "actor:<slug>"."""
    from posture.models import Actor, Side

    keys = set(keys)
    names = dict(Side.objects.filter(slug__in=keys).values_list("slug", "name"))
    actors = {key.removeprefix("actor:") for key in keys if key.startswith("actor:")}
    names |= {f"actor:{slug}": name for slug, name in Actor.objects.filter(slug__in=actors).values_list("slug", "name")}
    return names
