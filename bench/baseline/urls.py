"""Every JoPay route plus the two baselines: ``POST /bench/insert`` (one INSERT)
and ``POST /bench/floor`` (create's round trips without its work)."""

from django.urls import include, path

from .floor import bench_floor
from .views import bench_insert

urlpatterns = [
    path("bench/insert", bench_insert, name="bench-insert"),
    path("bench/floor", bench_floor, name="bench-floor"),
    path("", include("jopay_project.urls")),
]
