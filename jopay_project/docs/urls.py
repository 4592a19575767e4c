"""Docs routes, included at ``/docs/`` (``/docs/api/`` is the Redoc page, D3)."""

from django.urls import path

from .views import docs_page

app_name = "docs"
urlpatterns = [
    path("", docs_page, name="index"),
    path("<slug:slug>/", docs_page, name="page"),
]
