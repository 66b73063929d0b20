"""Figures reported as a range: low, best and high, any of which may be unknown."""

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import F, Func, Q
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual


class Estimate(models.Model):
    low = models.PositiveIntegerField(null=True, blank=True)
    best = models.PositiveIntegerField(null=True, blank=True)
    high = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True
        constraints = [
            # NULL comparisons are not false, so an unknown bound never violates these.
            models.CheckConstraint(
                condition=Q(low__lte=F("best")),
                name="%(app_label)s_%(class)s_low_lte_best",
                violation_error_message="Low must not exceed best.",
            ),
            models.CheckConstraint(
                condition=Q(best__lte=F("high")),
                name="%(app_label)s_%(class)s_best_lte_high",
                violation_error_message="High must not be below best.",
            ),
            models.CheckConstraint(
                condition=Q(low__lte=F("high")),
                name="%(app_label)s_%(class)s_low_lte_high",
                violation_error_message="High must not be below low.",
            ),
            models.CheckConstraint(
                condition=Q(low__isnull=False) | Q(best__isnull=False) | Q(high__isnull=False),
                name="%(app_label)s_%(class)s_some_figure",
                violation_error_message="Give at least one of low, best and high.",
            ),
        ]

    @property
    def figure(self) -> int:
        """The single number to count with: the best estimate, else the most cautious bound."""
        for value in (self.best, self.low, self.high):
            if value is not None:
                return value
        return 0

    def clean(self):
        super().clean()
        low, best, high = self.low, self.best, self.high
        if low is None and best is None and high is None:
            raise ValidationError("Give at least one of low, best and high.")
        errors = {}
        if low is not None and best is not None and low > best:
            errors["low"] = "Low must not exceed best."
        if best is not None and high is not None and best > high:
            errors["high"] = "High must not be below best."
        if low is not None and high is not None and low > high and "high" not in errors:
            errors["high"] = "High must not be below low."
        if errors:
            raise ValidationError(errors)

    def range_label(self) -> str:
        if self.low is not None and self.high is not None and self.low != self.high:
            middle = f" (best {self.best:,})" if self.best is not None else ""
            return f"{self.low:,}–{self.high:,}{middle}"
        return f"{self.figure:,}"


class StX(Func):
    function = "ST_X"
    output_field = models.FloatField()


class StY(Func):
    function = "ST_Y"
    output_field = models.FloatField()


def point_in_range(field: str, *, nullable: bool = False) -> models.CheckConstraint:
    """Longitude in [-180, 180] and latitude in [-90, 90], held by the database."""
    condition = Q(
        GreaterThanOrEqual(StX(field), -180),
        LessThanOrEqual(StX(field), 180),
        GreaterThanOrEqual(StY(field), -90),
        LessThanOrEqual(StY(field), 90),
    )
    if nullable:
        condition = Q(**{f"{field}__isnull": True}) | condition
    return models.CheckConstraint(
        condition=condition,
        name=f"%(app_label)s_%(class)s_{field}_in_range",
        violation_error_message="Longitude must be between -180 and 180 and latitude between -90 and 90.",
    )
