from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = "Partners, merchants and API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jopay_project import schema  # noqa: F401 (registers the auth extension)
