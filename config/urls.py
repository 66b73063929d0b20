from django.contrib import admin
from django.urls import include, path

from events import views as event_views

admin.site.site_header = "Force Posture Dashboard"
admin.site.site_title = "Force Posture admin"

urlpatterns = [
    path("", event_views.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),
]
