"""Who did what to whom, in SQL: an incident spread over its sides, written once for every statement of the cycle
analytics and the suggestions.

An incident's attacking_sides and targeted_sides are arrays of side keys (kept by events/sql/'s triggers). A
statement that joins on sides spreads each incident over them as FROM items, laterally: a row per side, or per
(attacking side, targeted side), the dyad. A builder rather than a SQL function: a set-returning function is
opaque to the planner, which then guesses its rows (and reads the arrays once per call instead of once per row).
"""

from __future__ import annotations


def spread(alias: str, role: str, name: str) -> str:
    """FROM item: one row per side of the incident `alias` in `role` ("attacking" or "targeted"), as `name`.key."""
    if role not in ("attacking", "targeted"):
        raise ValueError(role)
    return f"CROSS JOIN LATERAL unnest({alias}.{role}_sides) AS {name}(key)"


def dyads(alias: str, attacker: str, target: str) -> str:
    """FROM items: one row per (attacking side, targeted side) of the incident `alias`, as `attacker`.key and
    `target`.key. An incident's sides are distinct, so each dyad holds it once."""
    return f"{spread(alias, 'attacking', attacker)} {spread(alias, 'targeted', target)}"
