"""OGC API – Features paths: no trailing slashes below the landing page, as the standard spells them."""

from django.urls import path

from . import ogc

urlpatterns = [
    path("", ogc.LandingView.as_view(), name="ogc-landing"),
    path("api", ogc.ApiDefinitionView.as_view(), name="ogc-api"),
    path("conformance", ogc.ConformanceView.as_view(), name="ogc-conformance"),
    path("collections", ogc.CollectionsView.as_view(), name="ogc-collections"),
    path("collections/<str:collection_id>", ogc.CollectionView.as_view(), name="ogc-collection"),
    path("collections/<str:collection_id>/items", ogc.ItemsView.as_view(), name="ogc-items"),
    path("collections/<str:collection_id>/items/<str:feature_id>", ogc.ItemView.as_view(), name="ogc-item"),
]
