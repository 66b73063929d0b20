from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.gis.geos import Polygon
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .countries import CountryField, country_code_check, country_name
from .estimates import Estimate, point_in_range


class Source(models.Model):
    """A citation. Every troop observation, incident and incident link cites at least one."""

    class Reliability(models.TextChoices):
        # The Admiralty (NATO) source-reliability scale.
        A = "A", "A · completely reliable"
        B = "B", "B · usually reliable"
        C = "C", "C · fairly reliable"
        D = "D", "D · not usually reliable"
        E = "E", "E · unreliable"
        F = "F", "F · cannot be judged"

    publisher = models.CharField(max_length=200)
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True)
    published_on = models.DateField(null=True, blank=True)
    reliability = models.CharField(max_length=1, choices=Reliability.choices, default=Reliability.F)
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["publisher", "title"]
        constraints = [
            models.UniqueConstraint(fields=["publisher", "title"], name="posture_source_unique_title"),
        ]

    def __str__(self) -> str:
        when = f", {self.published_on:%Y-%m-%d}" if self.published_on else ""
        return f"{self.publisher}: {self.title}{when}"


class Side(models.Model):
    """A party to the attack-and-response cycle: the actors that act as one ("United States and partners").

    An actor with no side counts as a side of its own (Actor.side_key), so imported names work unassigned.
    """

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, help_text="Who belongs and why, with the reasoning for front groups.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Actor(models.Model):
    """A state, an alliance or mission, or an armed group."""

    class Kind(models.TextChoices):
        STATE = "state", "State"
        STATE_FORCE = "state_force", "State armed force or agency"
        ALLIANCE = "alliance", "Alliance or coalition"
        MISSION = "mission", "Mission"
        ARMED_GROUP = "armed_group", "Armed group"
        PERSON = "person", "Person"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = CountryField(blank=True, help_text="Home country, where there is one.")
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    description = models.TextField(blank=True)
    affiliations = models.ManyToManyField(
        "self", through="Affiliation", symmetrical=False, related_name="affiliated_from", blank=True
    )
    side = models.ForeignKey(
        Side,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actors",
        help_text="The party it acts for in the cycle; a front group belongs to the side it fronts for.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [country_code_check("country", blank=True)]
        indexes = [GinIndex(fields=["aliases"], name="posture_actor_aliases_gin")]

    def __str__(self) -> str:
        return self.name

    @property
    def side_key(self) -> str:
        """What incidents' attacking_sides / targeted_sides hold for this actor (the triggers compute the same)."""
        return self.side.slug if self.side_id else f"actor:{self.slug}"


class Affiliation(models.Model):
    """How one actor relates to another: Kata'ib Hezbollah is backed by the IRGC-QF."""

    class Relation(models.TextChoices):
        PART_OF = "part_of", "part of"
        MEMBER_OF = "member_of", "member of"
        BACKED_BY = "backed_by", "backed by"
        LINKED_TO = "linked_to", "linked to"
        ALLIED_WITH = "allied_with", "allied with"

    actor = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="affiliations_out")
    related = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="affiliations_in")
    relation = models.CharField(max_length=20, choices=Relation.choices)
    note = models.CharField(max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor", "related", "relation"], name="posture_affiliation_unique"),
            models.CheckConstraint(condition=~Q(actor=F("related")), name="posture_affiliation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_relation_display()} {self.related}"


class BaseQuerySet(models.QuerySet):
    def in_bbox(self, bbox: tuple[float, float, float, float]):
        # Intersects, as incidents test it: for a point the same as "covered by", and planned from statistics.
        return self.filter(location__intersects=Polygon.from_bbox(bbox))

    def in_country(self, code: str):
        return self.filter(country=code)


class Base(models.Model):
    class Kind(models.TextChoices):
        AIR_BASE = "air_base", "Air base"
        GARRISON = "garrison", "Garrison"
        OUTPOST = "outpost", "Outpost"
        HQ = "hq", "Headquarters"
        AIRPORT = "airport", "Airport (military use)"
        CONSULATE = "consulate", "Consulate"
        EMBASSY = "embassy", "Embassy"
        LOGISTICS = "logistics", "Logistics hub"
        NAVAL = "naval", "Naval base"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    alternate_names = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    location = models.PointField(srid=4326)
    country = CountryField(help_text="Host country.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    users = models.ManyToManyField(Actor, related_name="bases", blank=True)
    description = models.TextField(blank=True)
    sources = models.ManyToManyField(Source, related_name="bases", blank=True)

    history = HistoricalRecords(m2m_fields=[users, sources])

    objects = BaseQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [country_code_check("country", blank=False), point_in_range("location")]
        indexes = [GinIndex(fields=["alternate_names"], name="posture_base_altnames_gin")]

    def __str__(self) -> str:
        return self.name

    @property
    def country_name(self) -> str:
        return country_name(self.country)


class BaseStatus(models.Model):
    """The state a base was in over a date range; an open end means it still holds."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REDUCED = "reduced", "Reduced presence"
        HANDED_OVER = "handed_over", "Handed over to host forces"
        CLOSED = "closed", "Closed"

    base = models.ForeignKey(Base, on_delete=models.CASCADE, related_name="statuses")
    status = models.CharField(max_length=20, choices=Status.choices)
    start_on = models.DateField()
    end_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["base", "-start_on"]
        verbose_name_plural = "base statuses"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gte=F("start_on")), name="posture_basestatus_ordered"
            ),
            models.UniqueConstraint(fields=["base", "start_on"], name="posture_basestatus_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.base}: {self.get_status_display()} from {self.start_on}"

    def clean(self):
        if self.end_on and self.start_on and self.end_on < self.start_on:
            raise ValidationError({"end_on": "The end must not come before the start."})


class TroopLevelQuerySet(models.QuerySet):
    def latest_per_series(self):
        """The newest observation per contributor × host country × status."""
        return self.order_by("contributor_id", "host_country", "status", "-as_of", "-reported_on", "-id").distinct(
            "contributor_id", "host_country", "status"
        )


class TroopLevel(Estimate):
    """One observation of how many troops a contributor has in a host country (or at one base).

    A series of these is the time series; "NATO 500 rising to more than 4,000" is two rows: 500
    actual, and at least 4,000 planned.
    """

    class Qualifier(models.TextChoices):
        EXACT = "exact", "exactly"
        ABOUT = "about", "about"
        AT_LEAST = "at_least", "at least"
        UP_TO = "up_to", "up to"

    class Status(models.TextChoices):
        ACTUAL = "actual", "Reported actual"
        ANNOUNCED = "announced", "Announced"
        PLANNED = "planned", "Planned"
        AUTHORIZED = "authorized", "Authorized"

    contributor = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="troop_levels")
    host_country = CountryField()
    base = models.ForeignKey(Base, on_delete=models.SET_NULL, null=True, blank=True, related_name="troop_levels")
    qualifier = models.CharField(max_length=10, choices=Qualifier.choices, default=Qualifier.ABOUT)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTUAL)
    as_of = models.DateField(help_text="The date the figure holds for.")
    reported_on = models.DateField(null=True, blank=True, help_text="When it was reported.")
    mission = models.CharField(max_length=200, blank=True)
    sources = models.ManyToManyField(Source, related_name="troop_levels")
    note = models.TextField(blank=True)

    history = HistoricalRecords(m2m_fields=[sources])

    objects = TroopLevelQuerySet.as_manager()

    class Meta:
        ordering = ["contributor", "host_country", "as_of"]
        constraints = [
            *Estimate.Meta.constraints,
            country_code_check("host_country", blank=False),
            models.UniqueConstraint(
                fields=["contributor", "host_country", "status", "as_of", "mission"],
                name="posture_trooplevel_unique_observation",
            ),
        ]
        indexes = [models.Index(fields=["contributor", "host_country", "status", "as_of"])]

    def __str__(self) -> str:
        return f"{self.contributor} in {self.host_country}: {self.label()} ({self.get_status_display()}, {self.as_of})"

    def label(self) -> str:
        """'~1,000', '4,000+', 'up to 900', '2,500'."""
        figure = f"{self.figure:,}"
        return {
            self.Qualifier.ABOUT: f"~{figure}",
            self.Qualifier.AT_LEAST: f"{figure}+",
            self.Qualifier.UP_TO: f"up to {figure}",
        }.get(self.qualifier, figure)
