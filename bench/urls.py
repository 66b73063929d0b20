"""The site's URLs plus the textbook baseline (bench/textbook.py), for the benchmarks only."""

from django.urls import path

from config.urls import urlpatterns as site_urlpatterns

from . import textbook

urlpatterns = [
    *site_urlpatterns,
    path("textbook/incidents/", textbook.IncidentList.as_view()),
    path("textbook/incidents/<int:pk>/", textbook.IncidentDetail.as_view()),
    path("textbook/timeline/", textbook.Timeline.as_view()),
]
