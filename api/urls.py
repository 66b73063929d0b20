"""Every URL of the API: the REST API under /api/v1/, its schema and docs, and OGC API – Features under /ogc/."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import ogc
from api.analytics import (
    BeforeAfterView,
    DeterrenceView,
    EscalationView,
    ResponseLagsView,
    SpaceTimeView,
    SurgesView,
)
from api.bases import BaseCollectionView
from api.changes import ChangeListView, IncidentHistoryView
from api.deployments import DeploymentViewSet
from api.freshness import SourceStatusView
from api.http import no_such_endpoint
from api.imports import ImportJobViewSet
from api.incidents import IncidentViewSet
from api.links import LinkViewSet
from api.lists import ActorViewSet, KindView, SourceViewSet
from api.suggestions import SuggestionListView
from api.timeline import TimelineView

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("links", LinkViewSet, basename="link")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("actors", ActorViewSet, basename="actor")
router.register("sources", SourceViewSet, basename="source")
router.register("imports", ImportJobViewSet, basename="import")

v1 = [
    path("bases/", BaseCollectionView.as_view(), name="bases"),
    path("timeline/", TimelineView.as_view(), name="timeline"),
    path("kinds/", KindView.as_view(), name="kinds"),
    path("analytics/deterrence/", DeterrenceView.as_view(), name="analytics-deterrence"),
    path("analytics/response-lags/", ResponseLagsView.as_view(), name="analytics-response-lags"),
    path("analytics/before-after/", BeforeAfterView.as_view(), name="analytics-before-after"),
    path("analytics/escalation/", EscalationView.as_view(), name="analytics-escalation"),
    path("analytics/surges/", SurgesView.as_view(), name="analytics-surges"),
    path("analytics/space-time/", SpaceTimeView.as_view(), name="analytics-space-time"),
    path("links/suggestions/", SuggestionListView.as_view(), name="link-suggestions"),
    path("changes/", ChangeListView.as_view(), name="changes"),
    path("sources/status/", SourceStatusView.as_view(), name="sources-status"),
    re_path(r"^incidents/(?P<pk>[0-9]{1,18})/history/$", IncidentHistoryView.as_view(), name="incident-history"),
    path("", include(router.urls)),
]

# OGC API – Features spells its paths without trailing slashes below the landing page.
ogc_paths = [
    path("", ogc.LandingView.as_view(), name="ogc-landing"),
    path("api", ogc.ApiDefinitionView.as_view(), name="ogc-api"),
    path("conformance", ogc.ConformanceView.as_view(), name="ogc-conformance"),
    path("collections", ogc.CollectionsView.as_view(), name="ogc-collections"),
    path("collections/<str:collection_id>", ogc.CollectionView.as_view(), name="ogc-collection"),
    path("collections/<str:collection_id>/items", ogc.ItemsView.as_view(), name="ogc-items"),
    path("collections/<str:collection_id>/items/<str:feature_id>", ogc.ItemView.as_view(), name="ogc-item"),
]

urlpatterns = [
    path("api/v1/", include((v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline-script exception.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("feeds/changes.atom", ChangeListView.as_view(atom=True), name="changes-feed"),
    path("ogc", ogc.LandingAliasView.as_view()),  # GDAL and QGIS take the root URL without its slash
    path("ogc/", include(ogc_paths)),
    # Last: whatever else is under /api/ or /ogc/. API paths end in a slash, so CommonMiddleware still
    # redirects /api/v1/incidents to /api/v1/incidents/ (it only adds one where the path does not resolve).
    re_path(r"^api/.*/$", no_such_endpoint),
    re_path(r"^ogc/.+$", no_such_endpoint),
]
