"""ISO 3166-1 alpha-3 country codes, as stored on bases, troop levels and incidents."""

import pycountry
from django.core.exceptions import ValidationError
from django.db import models


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_3=code) if code else None
    return getattr(country, "common_name", None) or getattr(country, "name", "") if country else ""


def code_for_name(name: str) -> str | None:
    """ACLED files name countries in English; map a name (or an alpha-3 code) to its code."""
    if not name:
        return None
    try:
        return pycountry.countries.lookup(name.strip()).alpha_3
    except LookupError:
        return None


def validate_country(value: str) -> None:
    if value and pycountry.countries.get(alpha_3=value) is None:
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-3 country code.", code="country")


COUNTRY_CHOICES = sorted(((c.alpha_3, f"{c.alpha_3} · {c.name}") for c in pycountry.countries), key=lambda c: c[1])


class CountryField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("validators", [validate_country])
        kwargs.setdefault("choices", COUNTRY_CHOICES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # The choices come from pycountry; keeping them out of migrations stops a pycountry upgrade
        # from producing a migration.
        kwargs.pop("choices", None)
        kwargs.pop("validators", None)
        if kwargs.get("max_length") == 3:
            kwargs.pop("max_length")
        return name, path, args, kwargs


def country_code_check(field: str, *, blank: bool) -> models.CheckConstraint:
    condition = models.Q(**{f"{field}__regex": r"^[A-Z]{3}$"})
    if blank:
        condition |= models.Q(**{field: ""})
    return models.CheckConstraint(condition=condition, name=f"%(app_label)s_%(class)s_{field}_iso3")
