from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = "Partners, merchants and API keys"
    default_auto_field = "django.db.models.BigAutoField"
