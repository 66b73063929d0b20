"""SQL text with its parameters, for statements composed from pieces (the API's bodies, the webhook payload)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass(frozen=True)
class Fragment:
    """SQL text with its positional parameters, so pieces can be joined without miscounting placeholders."""

    sql: str
    params: tuple = ()

    def __add__(self, other: Fragment | str) -> Fragment:
        if isinstance(other, str):
            return Fragment(self.sql + other, self.params)
        return Fragment(self.sql + other.sql, self.params + other.params)

    def __radd__(self, other: str) -> Fragment:
        return Fragment(other + self.sql, self.params)

    @classmethod
    def of(cls, queryset: QuerySet) -> Fragment:
        sql, params = queryset.query.sql_with_params()
        return cls(sql, tuple(params))

    @classmethod
    def join(cls, separator: str, parts: Iterable[Fragment | str]) -> Fragment:
        parts = [p if isinstance(p, Fragment) else Fragment(p) for p in parts]
        return cls(separator.join(p.sql for p in parts), tuple(v for p in parts for v in p.params))


def labels_json(pairs: Iterable[tuple[object, object]]) -> Fragment:
    """A constant lookup table passed as one jsonb parameter: `<fragment> ->> key`."""
    return Fragment("%s::jsonb", (json.dumps({str(k): str(v) for k, v in pairs}),))


def json_object(pairs: Iterable[tuple[str, Fragment | str]]) -> Fragment:
    """json_build_object('name', value, ...) over (name, SQL expression) pairs."""
    # json_build_object takes at most 100 arguments; every object here stays well below.
    return "json_build_object(" + Fragment.join(", ", [Fragment(f"'{name}', ") + value for name, value in pairs]) + ")"
