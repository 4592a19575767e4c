"""Requests and FX routes under /api/v1/ (spec §4, D35). Ids are parsed in the views,
so a malformed id answers ``invalid_request_id`` rather than a bare 404."""

from django.urls import path

from payments.proofs.api import PaymentRequestReverifyApi

from . import views

app_name = "payments"
urlpatterns = [
    path(
        "requests/create",
        views.PaymentRequestCreateApi.as_view(),
        name="request-create",
    ),
    path("requests", views.PaymentRequestListApi.as_view(), name="request-list"),
    path(
        "requests/<str:request_id>",
        views.PaymentRequestDetailApi.as_view(),
        name="request-detail",
    ),
    path(
        "requests/<str:request_id>/cancel",
        views.PaymentRequestCancelApi.as_view(),
        name="request-cancel",
    ),
    path("fx/rates", views.FxRateListApi.as_view(), name="fx-rates"),
    path(
        "requests/<str:request_id>/reverify",
        PaymentRequestReverifyApi.as_view(),
        name="request-reverify",
    ),
]
