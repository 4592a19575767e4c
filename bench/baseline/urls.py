"""Every JoPay route plus ``POST /bench/insert`` (the baseline)."""

from django.urls import include, path

from .views import bench_insert

urlpatterns = [
    path("bench/insert", bench_insert, name="bench-insert"),
    path("", include("jopay_project.urls")),
]
