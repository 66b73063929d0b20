"""What must always hold is held by the database, not only by forms."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction

from events.models import Casualty, Incident, IncidentLink
from posture.models import Base, TroopLevel

from .factories import (
    ActorFactory,
    BaseFactory,
    CasualtyFactory,
    IncidentFactory,
    IncidentLinkFactory,
    TroopLevelFactory,
)

pytestmark = pytest.mark.django_db


def violates(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


@pytest.mark.parametrize(("lon", "lat"), [(180.5, 33), (-181, 33), (42, 90.1), (42, -95)])
def test_coordinates_out_of_range_are_refused(lon, lat):
    violates(lambda: BaseFactory(location=Point(lon, lat, srid=4326)))
    violates(lambda: IncidentFactory(location=Point(lon, lat, srid=4326)))
    assert not Base.objects.exists()
    assert not Incident.objects.exists()


def test_coordinates_on_the_edges_are_accepted():
    BaseFactory(location=Point(180, -90, srid=4326))
    IncidentFactory(location=Point(-180, 90, srid=4326))


def test_an_incident_may_have_no_location():
    assert IncidentFactory(location=None).location is None


def test_negative_counts_are_refused():
    incident = IncidentFactory()
    violates(lambda: CasualtyFactory(incident=incident, best=-1))
    violates(lambda: TroopLevelFactory(best=-5))
    violates(lambda: Incident.objects.filter(pk=incident.pk).update(munitions=-10))


@pytest.mark.parametrize(
    ("low", "best", "high"),
    [(5, 4, None), (None, 5, 4), (6, None, 5), (None, None, None)],
    ids=["low>best", "best>high", "low>high", "empty"],
)
def test_estimates_must_be_ordered_and_present(low, best, high):
    violates(lambda: CasualtyFactory(low=low, best=best, high=high))
    violates(lambda: TroopLevelFactory(low=low, best=best, high=high))
    assert not Casualty.objects.exists()
    assert not TroopLevel.objects.exists()


def test_unknown_bounds_are_allowed():
    casualty = CasualtyFactory(low=1, best=None, high=22)
    assert casualty.figure == 1
    assert casualty.range_label() == "1–22"


def test_an_incident_cannot_be_linked_to_itself():
    incident = IncidentFactory()
    violates(lambda: IncidentLinkFactory(incident=incident, prior=incident))
    assert not IncidentLink.objects.exists()


def test_external_ids_are_unique_per_dataset():
    IncidentFactory(dataset="acled", external_id="IRQ123")
    violates(lambda: IncidentFactory(dataset="acled", external_id="IRQ123"))
    # The same id in another dataset, and rows without an id, are fine.
    IncidentFactory(dataset="other", external_id="IRQ123")
    IncidentFactory(dataset="acled", external_id="")
    IncidentFactory(dataset="acled", external_id="")


def test_country_codes_must_be_alpha3():
    violates(lambda: BaseFactory(country="irq"))
    violates(lambda: IncidentFactory(country="IQ"))


def test_lag_days_is_derived_from_the_dates():
    link = IncidentLinkFactory(
        incident=IncidentFactory(occurred_on=dt.date(2021, 3, 3)),
        prior=IncidentFactory(occurred_on=dt.date(2021, 2, 25)),
    )
    assert link.lag_days == 6


def test_refresh_derived_finds_the_nearest_base_and_rolls_up_casualties():
    near = BaseFactory(location=Point(42.44, 33.79, srid=4326))
    BaseFactory(location=Point(44.0, 36.2, srid=4326))
    incident = IncidentFactory(location=Point(42.50, 33.80, srid=4326))
    CasualtyFactory(incident=incident, group=Casualty.Group.US_CONTRACTOR, kind=Casualty.Kind.KILLED, best=1)
    CasualtyFactory(incident=incident, group=Casualty.Group.US_MILITARY, kind=Casualty.Kind.TBI, low=100, best=None)

    incident.refresh_derived()

    incident.refresh_from_db()
    assert incident.nearest_base == near
    assert 5 < incident.nearest_base_km < 7
    assert incident.casualties_best == 101
    assert incident.fatalities_best == 1


def test_drafts_are_visible_to_editors_only(editor, outsider):
    published = IncidentFactory()
    draft = IncidentFactory(status=Incident.Status.DRAFT)
    assert list(Incident.objects.visible_to(None)) == [published]
    assert list(Incident.objects.visible_to(outsider)) == [published]
    assert set(Incident.objects.visible_to(editor)) == {published, draft}


def test_involving_matches_attackers_and_targets_only():
    from events.models import Involvement

    actor = ActorFactory(slug="kataib-hezbollah")
    attacked = IncidentFactory()
    claimed = IncidentFactory()
    Involvement.objects.create(incident=attacked, actor=actor, role=Involvement.Role.ATTACKER)
    Involvement.objects.create(incident=claimed, actor=actor, role=Involvement.Role.CLAIMED_BY)
    assert list(Incident.objects.involving("kataib-hezbollah")) == [attacked]
