"""Test settings: the production settings with speed knobs turned (STYLE.md).

Tests run on real PostgreSQL and Redis only (``DATABASE_URL`` / ``REDIS_URL``,
set by ``make test`` / ``scripts/services.sh``); SQLite is refused here.
"""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "jopay-test-secret-key-" + "t" * 40)
os.environ.setdefault("JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS", "1")
os.environ.setdefault("JOPAY_PUBLIC_BASE_URL", "http://testserver")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1,[::1]")


def _redis_url_of_this_worker() -> None:
    """Under pytest-xdist (``make test`` runs the suite on several workers),
    worker ``gwN`` gets the Redis database N below ``REDIS_URL``'s (mod 16):
    each worker empties its database before every test (tests/conftest.py)
    and runs live Celery workers on it, which must never take another
    worker's tasks. PostgreSQL needs nothing: pytest-django gives each worker
    its own ``test_…_gwN`` database. Done once per worker process; the child
    processes a test starts inherit the result (and the marker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not worker.startswith("gw") or not url:
        return
    if os.environ.get("JOPAY_TEST_REDIS_WORKER") == worker:
        return
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    db = (base - int(worker[2:])) % 16
    os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{db}"))
    os.environ["JOPAY_TEST_REDIS_WORKER"] = worker


_redis_url_of_this_worker()

# After the environment is complete: settings read it on import.
from .settings import *  # noqa: E402, F403
from .settings import DATABASES, REDIS_URL  # noqa: E402

if not DATABASES["default"]["ENGINE"].endswith("postgresql") or not REDIS_URL:
    raise ImproperlyConfigured(
        "Tests need DATABASE_URL (PostgreSQL) and REDIS_URL; run `make test`."
    )

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": [], "level": "WARNING"},
}
# E-mails land in django.core.mail.outbox; tests switch sending on themselves.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
JOPAY_ONBOARDING_EMAIL = False
# No public FX feed from tests: each FX test serves recorded answers locally.
JOPAY_FX_FEEDS: list[str] = []
# Serve static files from the finders (no collectstatic before tests).
WHITENOISE_AUTOREFRESH = True
