"""Derived data kept current in the background: a base that appears or moves re-ranks every incident's nearest base.
Bases are written as the admin and the seed write them, through events.actions."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from events.actions import save_base
from events.models import Incident

from .celery_worker import wait_until
from .factories import BaseFactory, IncidentFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def nearest(incidents) -> set:
    return set(Incident.objects.filter(pk__in=[i.pk for i in incidents]).values_list("nearest_base_id", flat=True))


def test_a_base_that_appears_or_moves_becomes_or_stops_being_the_nearest_base(celery_worker, transactional_db):
    far = BaseFactory(name="Tanf", location=Point(38.63, 33.50, srid=4326))
    incidents = [IncidentFactory(location=Point(42.44 + n / 100, 33.79, srid=4326)) for n in range(5)]
    for incident in incidents:
        incident.refresh_derived()
    assert nearest(incidents) == {far.pk}

    near = save_base(BaseFactory.build(name="Ayn al-Asad", location=Point(42.4412, 33.7856, srid=4326)))

    wait_until(lambda: nearest(incidents) == {near.pk}, "the new base to be the nearest")
    closest = Incident.objects.get(pk=incidents[0].pk)
    assert closest.nearest_base_km == pytest.approx(0.5, abs=0.05)  # 0.0044° of latitude

    near.location = Point(47.0, 30.5, srid=4326)  # moved far away
    save_base(near)

    wait_until(lambda: nearest(incidents) == {far.pk}, "the old base to be the nearest again")
