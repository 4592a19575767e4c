from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = "Partners, merchants and API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jopay_project import schema  # noqa: F401 (registers the auth extension)

        post_migrate.connect(
            create_cache_table, sender=self, dispatch_uid="jopay.create_cache_table"
        )


def create_cache_table(*, using: str = "default", **kwargs) -> None:
    """``migrate`` also creates the database cache's table (D30).

    Without ``REDIS_URL`` the rate-limit counters (D27), SSO nonces and the
    watcher lock live in Django's database cache, whose table no migration
    creates: a database migrated by hand, without ``make run``'s
    ``createcachetable``, answered 500 to every API request. Idempotent, and
    a no-op with Redis configured.
    """
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
