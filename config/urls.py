from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from events import ogc
from events import views as event_views

admin.site.site_header = "Force Posture Dashboard"
admin.site.site_title = "Force Posture admin"

urlpatterns = [
    path("", event_views.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("events.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("ogc", ogc.LandingView.as_view()),  # GDAL and QGIS take the root URL without its slash
    path("ogc/", include("events.ogc_urls")),
]
