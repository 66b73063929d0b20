from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Polygon
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connection
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from posture.countries import CountryField, country_code_check, country_name
from posture.estimates import Estimate, point_in_range
from posture.models import Actor, Base, Source

from ..derived import REFRESH_ONE


class Kind(models.TextChoices):
    """What happened. Each kind maps to ACLED's event_type / sub_event_type (see ACLED_TYPES)."""

    ROCKET_ATTACK = "rocket_attack", "Rocket attack"
    BALLISTIC_MISSILE_STRIKE = "ballistic_missile_strike", "Ballistic missile strike"
    DRONE_ATTACK = "drone_attack", "One-way drone attack"
    DRONE_STRIKE = "drone_strike", "Drone strike"
    AIR_STRIKE = "air_strike", "Air strike"
    IED = "ied", "IED / roadside bomb"
    ARMED_CLASH = "armed_clash", "Armed clash"
    SHOW_OF_FORCE = "show_of_force", "Show of force / bomber overflight"
    POSTURE_ANNOUNCEMENT = "posture_announcement", "Posture announcement"
    DIPLOMATIC_MOVE = "diplomatic_move", "Diplomatic move"
    STATEMENT = "statement", "Official statement / warning"
    CONTEXT = "context", "Political context"
    # Violence a file does not say enough about to tell which kind (UCDP GED rows, whose headline is vague).
    UNKNOWN = "unknown", "Violence of unknown kind"

    # The groups the cycle analytics and the suggestions reason with, each named once.
    @classmethod
    def force(cls) -> list[str]:
        """Attacks and strikes: one side's violence on another."""
        return [*Category.ATTACK.kinds, *Category.STRIKE.kinds]

    @classmethod
    def deterrent(cls) -> list[str]:
        """What deterrence is measured for: strikes, and shows of force."""
        return [*Category.STRIKE.kinds, cls.SHOW_OF_FORCE.value]

    @classmethod
    def words(cls) -> list[str]:
        """The escalation ladder's lowest step: said, not done."""
        return [cls.STATEMENT.value, cls.DIPLOMATIC_MOVE.value, cls.CONTEXT.value]

    @classmethod
    def gestures(cls) -> list[str]:
        """The ladder's step above words: force shown, not used (Category.SIGNAL less the statement)."""
        return [cls.SHOW_OF_FORCE.value, cls.POSTURE_ANNOUNCEMENT.value]


class Category(models.TextChoices):
    """Map layers: kinds grouped by what they mean in the attack-and-response cycle."""

    ATTACK = "attack", "Attacks"
    STRIKE = "strike", "Strikes"
    SIGNAL = "signal", "Signals and posture"
    POLITICAL = "political", "Diplomacy and context"

    @property
    def kinds(self) -> list[str]:
        """Its kinds' values, in KIND_CATEGORY's order."""
        return [kind.value for kind, category in KIND_CATEGORY.items() if category == self]


KIND_CATEGORY = {
    Kind.ROCKET_ATTACK: Category.ATTACK,
    Kind.BALLISTIC_MISSILE_STRIKE: Category.ATTACK,
    Kind.DRONE_ATTACK: Category.ATTACK,
    Kind.IED: Category.ATTACK,
    Kind.ARMED_CLASH: Category.ATTACK,
    Kind.DRONE_STRIKE: Category.STRIKE,
    Kind.AIR_STRIKE: Category.STRIKE,
    Kind.SHOW_OF_FORCE: Category.SIGNAL,
    Kind.POSTURE_ANNOUNCEMENT: Category.SIGNAL,
    Kind.STATEMENT: Category.SIGNAL,
    Kind.DIPLOMATIC_MOVE: Category.POLITICAL,
    Kind.CONTEXT: Category.POLITICAL,
    Kind.UNKNOWN: Category.ATTACK,
}

_REMOTE = "Explosions/Remote violence"
_STRATEGIC = "Strategic developments"
ACLED_TYPES: dict[str, tuple[str, str]] = {
    Kind.ROCKET_ATTACK: (_REMOTE, "Shelling/artillery/missile attack"),
    Kind.BALLISTIC_MISSILE_STRIKE: (_REMOTE, "Shelling/artillery/missile attack"),
    Kind.DRONE_ATTACK: (_REMOTE, "Air/drone strike"),
    Kind.DRONE_STRIKE: (_REMOTE, "Air/drone strike"),
    Kind.AIR_STRIKE: (_REMOTE, "Air/drone strike"),
    Kind.IED: (_REMOTE, "Remote explosive/landmine/IED"),
    Kind.ARMED_CLASH: ("Battles", "Armed clash"),
    Kind.SHOW_OF_FORCE: (_STRATEGIC, "Other"),
    Kind.POSTURE_ANNOUNCEMENT: (_STRATEGIC, "Change to group/activity"),
    Kind.DIPLOMATIC_MOVE: (_STRATEGIC, "Agreement"),
    Kind.STATEMENT: (_STRATEGIC, "Other"),
    Kind.CONTEXT: (_STRATEGIC, "Other"),
    Kind.UNKNOWN: ("Battles", "Armed clash"),  # ACLED has no unknown; its most general type of violence
}


class DatePrecision(models.IntegerChoices):
    """As ACLED's time_precision (1 to 3), and a year for UCDP's coarsest dates."""

    DAY = 1, "day"
    WEEK = 2, "week"
    MONTH = 3, "month"
    YEAR = 4, "year"  # UCDP's date_prec 5: known only to within the year


class GeoPrecision(models.IntegerChoices):
    """As ACLED's geo_precision."""

    EXACT = 1, "exact location"
    NEAR = 2, "near the named place"
    REGION = 3, "region or province"


# No incident is dated before this day or after tomorrow: a date outside is a misread (a two-digit year read
# as year 20), never an event. Tomorrow, not today, so that an event dated in a time zone ahead of UTC is taken.
EARLIEST_DATE = dt.date(1900, 1, 1)


def latest_date() -> dt.date:
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def not_after_tomorrow(value: dt.date) -> None:
    if value > latest_date():
        raise ValidationError(
            "Must not be after tomorrow (%(latest)s).", code="max_value", params={"latest": latest_date()}
        )


def sees_drafts(user) -> bool:
    """Drafts are for editors only (anyone who may change incidents)."""
    return user is not None and user.is_authenticated and user.has_perm("events.change_incident")


def listed_statuses(drafts: bool) -> list[str]:
    """The statuses of the incidents a list, count, map cell, export or figure may hold: the published ones, and
    for editors (`drafts`) the drafts too. A retracted incident is in none of them, for anyone."""
    statuses = [Incident.Status.PUBLISHED.value]
    return [*statuses, Incident.Status.DRAFT.value] if drafts else statuses


class IncidentQuerySet(models.QuerySet):
    def published(self):
        """What the public sees: every public list, count and figure starts here."""
        return self.filter(status=Incident.Status.PUBLISHED)

    def listed(self, *, drafts: bool):
        """published(), and the drafts too when `drafts` (editors): never the retracted."""
        return self.filter(status__in=listed_statuses(drafts)) if drafts else self.published()

    def visible_to(self, user):
        return self.listed(drafts=sees_drafts(user))

    def retracted(self):
        return self.filter(status=Incident.Status.RETRACTED)

    def in_bbox(self, bbox: tuple[float, float, float, float]):
        # For a point, "intersects the box" and "covered by the box" are the same test (edges included),
        # but PostGIS estimates ST_Intersects's && from the column statistics, while ST_CoveredBy's @ is
        # guessed at 0.1% whatever the box: with it a box over most of the map walked the whole GiST index.
        return self.filter(location__intersects=Polygon.from_bbox(bbox))

    def between(self, start: dt.date | None, end: dt.date | None):
        qs = self
        if start is not None:
            qs = qs.filter(occurred_on__gte=start)
        if end is not None:
            qs = qs.filter(occurred_on__lte=end)
        return qs

    def of_kinds(self, kinds):
        return self.filter(kind__in=kinds)

    def involving(self, actor_slug: str):
        """Incidents in which the actor is an attacker or a target."""
        return self.filter(
            pk__in=Involvement.objects.filter(
                actor__slug=actor_slug, role__in=[Involvement.Role.ATTACKER, Involvement.Role.TARGET]
            ).values("incident_id")
        )

    def attacked_by_side(self, key: str):
        """Incidents whose attackers (or claimants) include side `key` (a Side slug, or "actor:<slug>")."""
        return self.filter(attacking_sides__contains=[key])

    def targeting_side(self, key: str):
        return self.filter(targeted_sides__contains=[key])

    def in_country(self, code: str):
        return self.filter(country=code)

    def targeting(self, base_id: int):
        return self.filter(base_id=base_id)

    def search(self, text: str):
        return self.filter(Q(title__icontains=text) | Q(summary__icontains=text) | Q(place_name__icontains=text))

    def with_min_casualties(self, minimum: int):
        return self.filter(casualties_best__gte=minimum)

    def in_chain_of(self, incident_id: int, *, through_drafts: bool, limit: int = 2000):
        """The escalation chain: every incident reachable from this one through links, either way, itself included.

        The walk only passes through incidents the reader may see, so a draft never connects two published
        incidents in public output, and a retracted one connects none. UNION (not UNION ALL) ends cycles;
        `limit` bounds a runaway component.
        """
        other_end = "CASE WHEN l.incident_id = chain.id THEN l.prior_id ELSE l.incident_id END"
        # Constant SQL text; the incident id, status and limit travel as parameters.
        sql = f"""
            WITH RECURSIVE chain(id) AS (
                SELECT %s::bigint
                UNION
                SELECT {other_end}
                FROM chain
                JOIN events_incidentlink l ON chain.id IN (l.incident_id, l.prior_id)
                JOIN events_incident i ON i.id = {other_end} AND i.status = ANY(%s)
            )
            SELECT id FROM chain LIMIT %s"""  # noqa: S608
        params = (incident_id, listed_statuses(through_drafts), limit)
        return self.filter(pk__in=RawSQL(sql, params))  # noqa: S611


class Incident(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        # Withdrawn by its source (ACLED deleted it, a newer UCDP GED left it out): kept with its history and
        # links, out of every list, count and figure, and its own URL answers 410 Gone with the reason.
        RETRACTED = "retracted", "Retracted"

    class Attribution(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        ATTRIBUTED = "attributed", "Attributed by a government"
        ASSESSED = "assessed", "Assessed by analysts"
        DISPUTED = "disputed", "Disputed"
        UNKNOWN = "unknown", "Unknown"

    # When
    occurred_on = models.DateField(
        help_text="With week or month precision, any day in that week or month.",
        validators=[MinValueValidator(EARLIEST_DATE), not_after_tomorrow],
    )
    date_precision = models.PositiveSmallIntegerField(choices=DatePrecision.choices, default=DatePrecision.DAY)
    # What
    kind = models.CharField(max_length=30, choices=Kind.choices)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    # Who
    actors = models.ManyToManyField(Actor, through="Involvement", related_name="incidents", blank=True)
    attribution = models.CharField(max_length=12, choices=Attribution.choices, default=Attribution.UNKNOWN)
    # Where: diplomatic moves may have no meaningful point, so location is optional.
    location = models.PointField(srid=4326, null=True, blank=True)
    geo_precision = models.PositiveSmallIntegerField(choices=GeoPrecision.choices, default=GeoPrecision.EXACT)
    place_name = models.CharField(max_length=200, blank=True)
    country = CountryField(blank=True)
    admin1 = models.CharField("province", max_length=100, blank=True)
    base = models.ForeignKey(
        Base, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents", help_text="Targeted base."
    )
    # How
    weapon = models.CharField(max_length=200, blank=True)
    munitions = models.PositiveIntegerField(null=True, blank=True, help_text="Number of rockets, missiles, drones…")
    # Provenance
    sources = models.ManyToManyField(Source, related_name="incidents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    dataset = models.CharField(max_length=50, blank=True, help_text="The dataset an imported row came from.")
    external_id = models.CharField(max_length=100, blank=True)
    # Set with status "retracted" (events.imports.retract), cleared when the source brings the row back.
    # db_default: the imports' set-based INSERT (events/imports/bulk.py) names only the columns it fills.
    retracted_reason = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text='Why it was retracted: "deleted by ACLED on 2025-06-01".',
    )
    retracted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Derived from its casualties and location, computed in the statement that writes the row (events/derived.py:
    # an editor's save, an import), and re-ranked for every row when a base changes (refresh_nearest_bases).
    casualties_best = models.PositiveIntegerField(default=0, editable=False)
    fatalities_best = models.PositiveIntegerField(default=0, editable=False)
    nearest_base = models.ForeignKey(
        Base, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    nearest_base_km = models.FloatField(null=True, blank=True, editable=False)
    # Derived by PostgreSQL, whoever writes (the involvement, actor and side triggers, events/sql/): the side keys
    # (Actor.side_key) of the attackers and claimants, and of the targets, sorted. The cycle analytics pair
    # incidents on them. A row written after its involvements computes them itself (events/derived.py).
    attacking_sides = ArrayField(models.TextField(), default=list, db_default=[], blank=True, editable=False)
    targeted_sides = ArrayField(models.TextField(), default=list, db_default=[], blank=True, editable=False)
    # Derived in the same statements: who attacked, was targeted and claimed it, by name and
    # sorted, so that lists, exports and webhooks read the row instead of joining its involvements.
    attacker_names = ArrayField(models.TextField(), default=list, db_default=[], blank=True, editable=False)
    target_names = ArrayField(models.TextField(), default=list, db_default=[], blank=True, editable=False)
    claimant_names = ArrayField(models.TextField(), default=list, db_default=[], blank=True, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The side columns are derived from the involvements, whose history holds the change.
    history = HistoricalRecords(
        m2m_fields=[sources],
        excluded_fields=[
            "updated_at",
            "attacking_sides",
            "targeted_sides",
            "attacker_names",
            "target_names",
            "claimant_names",
        ],
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        constraints = [
            point_in_range("location", nullable=True),
            country_code_check("country", blank=True),
            models.UniqueConstraint(
                fields=["dataset", "external_id"],
                condition=~Q(external_id=""),
                name="events_incident_unique_external_id",
                violation_error_message="An incident with this dataset and external id already exists.",
            ),
            # now() in a CHECK: a row's date only ever falls further behind "tomorrow", so a row once accepted
            # stays valid, and a dump restores (the one risk of a non-immutable CHECK is a row turning invalid).
            models.CheckConstraint(
                condition=Q(occurred_on__gte=EARLIEST_DATE) & Q(occurred_on__lte=Now() + dt.timedelta(days=1)),
                name="events_incident_occurred_on_range",
                violation_error_message="The date must be between 1900-01-01 and tomorrow.",
            ),
            # Only a source's sync retracts (events.imports.retract), saying why and when.
            models.CheckConstraint(
                condition=~Q(status="retracted") | (Q(retracted_at__isnull=False) & ~Q(retracted_reason="")),
                name="events_incident_retracted_why",
                violation_error_message="Only a source's sync retracts an incident, with the reason and the time.",
            ),
        ]
        indexes = [
            # The API filters by date range and bounding box on every list and timeline request.
            models.Index(fields=["occurred_on"], name="events_incident_date_idx"),
            models.Index(fields=["kind", "occurred_on"], name="events_incident_kind_date_idx"),
            # The API dates its collections by the latest change (Last-Modified): max(updated_at) is one lookup.
            models.Index(fields=["updated_at"], name="events_incident_updated_idx"),
            # Who attacked whom: the suggestions and analytics look incidents up by side.
            GinIndex(fields=["attacking_sides"], name="events_incident_attacking_gin"),
            GinIndex(fields=["targeted_sides"], name="events_incident_targeted_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on} · {self.title}"

    @property
    def category(self) -> str:
        return KIND_CATEGORY[self.kind]

    @property
    def country_name(self) -> str:
        return country_name(self.country)

    @property
    def retracted(self) -> bool:
        return self.status == self.Status.RETRACTED

    def refresh_derived(self) -> None:
        """Recompute the rollups kept on the row, casualty totals and the nearest base, with the SQL every write
        computes them with (events/derived.py), in an UPDATE of its own: for a row written around the write paths
        (a test's factories, a shell). The admin, the API and imports compute them as they write the row."""
        with connection.cursor() as cursor:
            cursor.execute(REFRESH_ONE, {"id": self.pk})
            self.casualties_best, self.fatalities_best, self.nearest_base_id, self.nearest_base_km = cursor.fetchone()


class Involvement(models.Model):
    """An actor's part in an incident."""

    class Role(models.TextChoices):
        ATTACKER = "attacker", "Attacker"
        TARGET = "target", "Target"
        CLAIMED_BY = "claimed_by", "Claimed by"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="involvements")
    actor = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="involvements")
    role = models.CharField(max_length=12, choices=Role.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["role", "actor__name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "actor", "role"], name="events_involvement_unique"),
        ]
        indexes = [models.Index(fields=["actor", "role"])]

    def __str__(self) -> str:
        return f"{self.actor} ({self.get_role_display()})"


class Casualty(Estimate):
    class Group(models.TextChoices):
        US_MILITARY = "us_military", "US military"
        US_CONTRACTOR = "us_contractor", "US contractors"
        COALITION = "coalition", "Coalition and other foreign forces"
        PARTNER_FORCES = "partner_forces", "Partner (host) forces"
        MILITIA = "militia", "Militia members"
        IRANIAN_FORCES = "iranian_forces", "Iranian forces"
        CIVILIANS = "civilians", "Civilians"
        OTHER = "other", "Other or unknown"

    class Kind(models.TextChoices):
        KILLED = "killed", "killed"
        WOUNDED = "wounded", "wounded"
        TBI = "tbi", "traumatic brain injury"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="casualties")
    group = models.CharField(max_length=20, choices=Group.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    note = models.CharField(max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "casualties"
        ordering = ["group", "kind"]
        constraints = [
            *Estimate.Meta.constraints,
            models.UniqueConstraint(fields=["incident", "group", "kind"], name="events_casualty_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_group_display()} {self.get_kind_display()}: {self.range_label()}"


class IncidentLinkQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Links are public when both ends are."""
        if sees_drafts(user):
            return self
        published = Incident.Status.PUBLISHED
        return self.filter(incident__status=published, prior__status=published)


class IncidentLink(models.Model):
    """`incident` is a <relation> `prior`: the March 3 rockets are a response to the February 25 strike."""

    class Relation(models.TextChoices):
        RETALIATION_FOR = "retaliation_for", "retaliation for"
        RESPONSE_TO = "response_to", "response to"
        ESCALATION_OF = "escalation_of", "escalation of"
        DETERRENCE_SIGNAL_AFTER = "deterrence_signal_after", "deterrence signal after"

    class Confidence(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links_out")
    prior = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links_in")
    relation = models.CharField(max_length=30, choices=Relation.choices)
    asserted_by = models.CharField(max_length=200, help_text="Who says the two are linked.")
    confidence = models.CharField(max_length=6, choices=Confidence.choices, default=Confidence.MEDIUM)
    sources = models.ManyToManyField(Source, related_name="incident_links")
    note = models.TextField(blank=True)

    history = HistoricalRecords(m2m_fields=[sources])

    objects = IncidentLinkQuerySet.as_manager()

    class Meta:
        ordering = ["prior__occurred_on", "incident__occurred_on"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(incident=F("prior")),
                name="events_link_not_self",
                violation_error_message="An incident cannot be linked to itself.",
            ),
            models.UniqueConstraint(fields=["incident", "prior", "relation"], name="events_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.incident} — {self.get_relation_display()} — {self.prior}"

    @property
    def lag_days(self) -> int:
        return (self.incident.occurred_on - self.prior.occurred_on).days

    def clean(self):
        # The database constraint holds too, but admin inlines leave the parent out of constraint validation.
        if self.incident_id is not None and self.incident_id == self.prior_id:
            raise ValidationError("An incident cannot be linked to itself.")


class IncidentCell(models.Model):
    """Incidents counted per map cell, kind and status at the zoom levels where a view holds most of them.

    The map's clusters at zoom z group incidents by floor(lon / cell), floor(lat / cell), with cells of
    about 60 screen pixels (`degrees(z)`). Counting a million rows takes a second; reading these takes
    milliseconds, so /api/v1/incidents/clusters/ answers from them whenever its filters allow
    (api.clusters.clusters).

    Kept current by PostgreSQL itself: statement-level triggers on events_incident add each written
    statement's changes, whoever writes (admin, API, import SQL, sync), in the same transaction
    (migration 0008). A cell whose incidents all went away stays, at zero, until `rebuild()`.
    """

    MAX_ZOOM = 8  # above it a view holds few enough rows to count directly

    zoom = models.PositiveSmallIntegerField()
    x = models.IntegerField()
    y = models.IntegerField()
    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Incident.Status.choices)
    count = models.IntegerField()
    sum_lon = models.FloatField()
    sum_lat = models.FloatField()
    # The sum of the ids: with one incident in the cell, its id, which the cluster links to.
    sum_id = models.BigIntegerField()
    casualties = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zoom", "x", "y", "kind", "status"], name="events_incidentcell_key")
        ]

    def __str__(self) -> str:
        return f"z{self.zoom} ({self.x}, {self.y}) {self.kind} {self.status}: {self.count}"

    @staticmethod
    def degrees(zoom: int) -> float:
        """A cell's width in degrees: 60 pixels of a 256-pixel tile, which spans 360 / 2^zoom degrees.

        Always a power-of-two fraction of 84.375, so exact in binary: the same float wherever it is computed.
        """
        return 360 / 2**zoom * 60 / 256

    @classmethod
    def rebuild(cls) -> None:
        """Count every cell again from the incidents (after a load that bypassed the triggers)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT events_incidentcell_rebuild()")
