import datetime as dt

import factory
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point

from events.models import Casualty, Incident, IncidentLink, Involvement, Kind
from posture.models import Actor, Base, Source, TroopLevel


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")
    is_staff = False


class EditorFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def editors_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name="Editors"))


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    publisher = "Example Wire"
    title = factory.Sequence(lambda n: f"Report {n}")
    url = factory.Sequence(lambda n: f"https://news.example.org/report-{n}")
    published_on = dt.date(2021, 3, 4)
    reliability = Source.Reliability.B


class ActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Actor

    name = factory.Sequence(lambda n: f"Actor {n}")
    slug = factory.Sequence(lambda n: f"actor-{n}")
    kind = Actor.Kind.ARMED_GROUP


class BaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Base

    name = factory.Sequence(lambda n: f"Base {n}")
    slug = factory.Sequence(lambda n: f"base-{n}")
    location = factory.LazyFunction(lambda: Point(42.4412, 33.7856, srid=4326))
    country = "IRQ"
    kind = Base.Kind.AIR_BASE


class TroopLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TroopLevel
        skip_postgeneration_save = True

    contributor = factory.SubFactory(ActorFactory, kind=Actor.Kind.STATE)
    host_country = "IRQ"
    best = 2500
    qualifier = TroopLevel.Qualifier.ABOUT
    status = TroopLevel.Status.ACTUAL
    as_of = dt.date(2021, 3, 1)

    @factory.post_generation
    def sources(self, create, extracted, **kwargs):
        if create:
            self.sources.set(extracted or [SourceFactory()])


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    occurred_on = dt.date(2021, 3, 3)
    kind = Kind.ROCKET_ATTACK
    title = factory.Sequence(lambda n: f"Incident {n}")
    summary = "Rockets struck the base."
    location = factory.LazyFunction(lambda: Point(42.4412, 33.7856, srid=4326))
    country = "IRQ"
    status = Incident.Status.PUBLISHED

    @factory.post_generation
    def sources(self, create, extracted, **kwargs):
        if create:
            self.sources.set(extracted or [SourceFactory()])


class InvolvementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Involvement

    incident = factory.SubFactory(IncidentFactory)
    actor = factory.SubFactory(ActorFactory)
    role = Involvement.Role.ATTACKER


class CasualtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Casualty

    incident = factory.SubFactory(IncidentFactory)
    group = Casualty.Group.US_CONTRACTOR
    kind = Casualty.Kind.KILLED
    best = 1


class IncidentLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncidentLink
        skip_postgeneration_save = True

    incident = factory.SubFactory(IncidentFactory, occurred_on=dt.date(2021, 3, 3))
    prior = factory.SubFactory(IncidentFactory, occurred_on=dt.date(2021, 2, 25))
    relation = IncidentLink.Relation.RESPONSE_TO
    asserted_by = "Strategic assessment, TSC"
    confidence = IncidentLink.Confidence.MEDIUM

    @factory.post_generation
    def sources(self, create, extracted, **kwargs):
        if create:
            self.sources.set(extracted or [SourceFactory()])
