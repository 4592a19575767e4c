"""Public, non-API routes of the payments app: the pay page (D22, D32)."""

from django.urls import include, path

urlpatterns = [
    path("pay/", include("payments.pay.urls")),
]
