from django.apps import AppConfig


class RecurringConfig(AppConfig):
    name = "recurring"
    default_auto_field = "django.db.models.BigAutoField"
