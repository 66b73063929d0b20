from django.urls import include, path
from rest_framework.routers import SimpleRouter

from posture.api import ActorViewSet, BaseCollectionView, DeploymentViewSet, SourceViewSet

from .imports import ImportJobViewSet
from .views import IncidentViewSet, KindView, LinkViewSet, TimelineView

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("links", LinkViewSet, basename="link")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("actors", ActorViewSet, basename="actor")
router.register("sources", SourceViewSet, basename="source")
router.register("imports", ImportJobViewSet, basename="import")

app_name = "api"
urlpatterns = [
    path("bases/", BaseCollectionView.as_view(), name="bases"),
    path("timeline/", TimelineView.as_view(), name="timeline"),
    path("kinds/", KindView.as_view(), name="kinds"),
    path("", include(router.urls)),
]
