"""``/pay/<request_id>`` and its JSON endpoints (D32)."""

from django.urls import path

from . import views

app_name = "pay"
urlpatterns = [
    path("<str:request_id>", views.pay_page, name="page"),
    path("<str:request_id>/status", views.pay_status, name="status"),
    path("<str:request_id>/proof", views.pay_proof, name="proof"),
    path("<str:request_id>/receipt", views.pay_receipt, name="receipt"),
]
