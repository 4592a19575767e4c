from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payment requests, proofs, FX and chains"
    default_auto_field = "django.db.models.BigAutoField"
