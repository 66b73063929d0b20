from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from events import ogc
from events import views as event_views

admin.site.site_header = "Force Posture Dashboard"
admin.site.site_title = "Force Posture admin"

urlpatterns = [
    path("", event_views.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("events.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline-script exception.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("ogc", ogc.LandingAliasView.as_view()),  # GDAL and QGIS take the root URL without its slash
    path("ogc/", include("events.ogc_urls")),
]
