"""How a chain escalated: its steps in date order on the severity ladder, each against the steps it answers, with
first-of-kind flags."""

from __future__ import annotations

from django.db.models import QuerySet

from ...models import Incident, Kind
from .queries import compiled, fetch

LEVELS = {
    0: "words: a statement, a diplomatic move, context",
    1: "signal: a show of force or a posture announcement",
    2: "force, nobody hurt",
    3: "force with wounded or injured, or a ballistic missile strike",
    4: "force with 1 to 9 killed",
    5: "force with 10 or more killed",
}


def severity(kind: str, casualties: int, fatalities: int) -> int:
    """The ordinal severity ladder (LEVELS) from the kind and the best casualty figures."""
    if kind in Kind.words():
        return 0
    if kind in Kind.gestures():
        return 1
    if fatalities >= 10:
        level = 5
    elif fatalities > 0:
        level = 4
    elif casualties > 0:
        level = 3
    else:
        level = 2
    return max(level, 3) if kind == Kind.BALLISTIC_MISSILE_STRIKE else level


ESCALATION_SQL = """
WITH chain AS (
    SELECT i.id, i.occurred_on, i.kind, i.title, i.base_id, i.casualties_best, i.fatalities_best,
           i.attacking_sides, i.targeted_sides
    FROM events_incident AS i WHERE i.id IN ({chain})
)
SELECT c.id, c.occurred_on, c.kind, c.title, c.base_id, b.name, c.casualties_best, c.fatalities_best,
       row_number() OVER (PARTITION BY c.kind ORDER BY c.occurred_on, c.id) = 1 AS first_kind_in_chain,
       c.fatalities_best > 0 AND coalesce(sum(c.fatalities_best) OVER (ORDER BY c.occurred_on, c.id
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) = 0 AS first_fatality_in_chain,
       c.base_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM events_incident AS e
           WHERE e.status = 'published' AND e.base_id = c.base_id AND e.kind = c.kind
             AND (e.occurred_on, e.id) < (c.occurred_on, c.id)) AS first_kind_at_base,
       c.base_id IS NOT NULL AND c.fatalities_best > 0 AND NOT EXISTS (
           SELECT 1 FROM events_incident AS e
           WHERE e.status = 'published' AND e.base_id = c.base_id AND e.fatalities_best > 0
             AND (e.occurred_on, e.id) < (c.occurred_on, c.id)) AS first_fatality_at_base,
       cardinality(c.attacking_sides) > 0 AND cardinality(c.targeted_sides) > 0 AND NOT EXISTS (
           SELECT 1 FROM events_incident AS e
           WHERE e.status = 'published' AND e.kind = c.kind
             AND e.attacking_sides && c.attacking_sides AND e.targeted_sides && c.targeted_sides
             AND (e.occurred_on, e.id) < (c.occurred_on, c.id)) AS first_kind_in_dyad,
       coalesce((SELECT array_agg(l.prior_id ORDER BY l.prior_id) FROM events_incidentlink AS l
                 WHERE l.incident_id = c.id AND l.prior_id IN (SELECT id FROM chain)), '{{}}') AS answers
FROM chain AS c LEFT JOIN posture_base AS b ON b.id = c.base_id
ORDER BY c.occurred_on, c.id
"""


def escalation(incident: Incident, selected: QuerySet) -> dict:
    """The incident's chain in date order on the severity ladder, each step against the steps it answers,
    with first-of-kind flags (in the chain, at the base, between the two sides)."""
    chain = Incident.objects.in_chain_of(incident.pk, through_drafts=False).published()
    steps_of = selected.filter(status=Incident.Status.PUBLISHED, pk__in=chain.values("pk"))
    sql, params = compiled(steps_of, "id")
    rows = fetch(ESCALATION_SQL.format(chain=sql), params)
    levels: dict[int, int] = {}
    steps, highest = [], -1
    for row in rows:
        pk, day, kind, title, base_id, base_name, casualties, fatalities = row[:8]
        first_in_chain, first_fatality, first_at_base, first_fatality_base, first_in_dyad, answers = row[8:]
        level = severity(kind, casualties, fatalities)
        levels[pk] = level
        answered = [levels[a] for a in answers if a in levels]
        change = None
        if answered:
            top = max(answered)
            change = "up" if level > top else "down" if level < top else "same"
        label = Kind(kind).label.lower()
        notes, flags = [], []
        force = kind in Kind.force()
        if first_in_chain and steps:
            flags.append("first_kind_in_chain")
            notes.append(f"first {label} in the chain")
        if first_fatality:
            flags.append("first_fatality_in_chain")
            notes.append("first fatality in the chain")
        if first_at_base and force:
            flags.append("first_kind_at_base")
            notes.append(f"first {label} against {base_name}")
        if first_fatality_base:
            flags.append("first_fatality_at_base")
            notes.append(f"first fatality at {base_name}")
        if first_in_dyad and force:
            flags.append("first_kind_in_dyad")
            notes.append(f"first {label} by these attackers on these targets")
        if steps and level > highest:
            flags.append("new_high")
            notes.append("the most severe step of the chain so far")
        highest = max(highest, level)
        steps.append(
            {
                "incident": pk,
                "occurred_on": day.isoformat(),
                "kind": kind,
                "kind_label": Kind(kind).label,
                "title": title,
                "base": base_id,
                "base_name": base_name,
                "casualties_best": casualties,
                "fatalities_best": fatalities,
                "level": level,
                "level_label": LEVELS[level],
                "answers": [a for a in answers if a in levels],
                "change": change,
                "flags": flags,
                "notes": notes,
            }
        )
    changes = [s["change"] for s in steps if s["change"]]
    return {
        "incident": incident.pk,
        "ladder": [{"level": level, "label": label} for level, label in LEVELS.items()],
        "n": len(steps),
        "up": changes.count("up"),
        "down": changes.count("down"),
        "same": changes.count("same"),
        "highest": max((s["level"] for s in steps), default=None),
        "steps": steps,
    }
