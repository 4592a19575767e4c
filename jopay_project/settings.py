"""JoPay settings, read from the environment (decisions.md D30, D31).

Without ``DATABASE_URL`` / ``REDIS_URL`` JoPay runs on its embedded default
(SQLite, Django's database cache, Celery's file-system transport) under
``JOPAY_DATA_DIR``; with them it runs on PostgreSQL + Redis, the supported
production set and the one the test suite uses.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

from .env import (
    env_all_or_none,
    env_bool,
    env_database_url,
    env_int,
    env_int_list,
    env_list,
    env_log_level,
    env_mapping,
    env_redis_url,
    env_sender,
    env_str,
    env_url,
    env_url_list,
    env_url_prefix,
    https_or_loopback_http,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Set but empty is the default (env_str): Path("") was the folder each process
# started in.
DATA_DIR = Path(env_str("JOPAY_DATA_DIR", str(BASE_DIR / ".run" / "data")))


def _make_dirs(*paths: Path) -> None:
    """Create folders JoPay's processes write into (SQLite, the beat schedule,
    the file-system transport), so `celery -A jopay_project beat` and friends
    also work outside `make run`. A folder that cannot be created (a read-only
    checkout on PostgreSQL + Redis, which never writes there) is left to the
    process that needs it, whose own error names the path."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.mkdir(parents=True, exist_ok=True)


_make_dirs(DATA_DIR)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "jopay-insecure-development-key-" + "x" * 32
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
# Rotating SECRET_KEY: put the old one here (comma-separated) for as long as
# what it signed must stay valid: sessions, CSRF tokens, onboarding links.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
if not ALLOWED_HOSTS and not DEBUG:
    # Set but empty: with DEBUG off Django would answer every request 400.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host")
for _host in ALLOWED_HOSTS:
    # Django matches the Host header without its port: a URL or host:port here
    # matched nothing, and every request but the probes answered 400.
    if "/" in _host or ":" in _host.split("]")[-1]:
        raise ImproperlyConfigured(
            f"ALLOWED_HOSTS takes host names without scheme, port or path, "
            f"not {_host!r}"
        )
# The prefix of every pay-page and onboarding link, and what turns on secure
# cookies and HSTS (https): a production default would be silently wrong.
JOPAY_PUBLIC_BASE_URL = env_url_prefix(
    "JOPAY_PUBLIC_BASE_URL", schemes=("http", "https")
)
if not JOPAY_PUBLIC_BASE_URL:
    if not DEBUG:
        raise ImproperlyConfigured(
            "JOPAY_PUBLIC_BASE_URL must be set when DEBUG is off "
            "(e.g. https://pay.example.com)"
        )
    JOPAY_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
CSRF_TRUSTED_ORIGINS = [JOPAY_PUBLIC_BASE_URL]
# Every pay-page and onboarding link points at this host: with ALLOWED_HOSTS
# unset (localhost only) or naming another host, each answered 400 while
# /readyz said 200 (D31). An empty list is left alone (Django's DEBUG fallback).
_public_host = urlsplit(JOPAY_PUBLIC_BASE_URL).hostname or ""
if ":" in _public_host:
    _public_host = f"[{_public_host}]"
if ALLOWED_HOSTS and _public_host and not validate_host(_public_host, ALLOWED_HOSTS):
    ALLOWED_HOSTS.append(_public_host)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "merchants",
    "payments",
    "webhooks",
    "recurring",
]

MIDDLEWARE = [
    # HEAD: the GET's headers, no body (also for the probes' answers).
    "jopay_project.middleware.HeadWithoutBodyMiddleware",
    # The security headers again on whatever leaves, also the answers built
    # outside the layers below that set them (the probes, the API fallback).
    "jopay_project.middleware.SecurityHeadersMiddleware",
    # D2: every answer carries X-Request-Id, the probes' too.
    "jopay_project.middleware.RequestIdMiddleware",
    # Probes next: before the host check and the HTTPS redirect (health.py).
    "jopay_project.health.HealthCheckMiddleware",
    # Outside every Django middleware, so what they answer themselves (the host
    # check's 400, CSRF's 403) is turned into JSON under /api/v1 too (D3).
    "jopay_project.middleware.ApiFallbackMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "jopay_project.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF and every view reads the form: a non-UTF-8 or unstorable
    # form POST is a 400, never a 500 (jopay_project/form_text.py).
    "jopay_project.form_text.FormTextMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts, for the audit trail (merchants/audit.py); cleared per request.
    "merchants.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jopay_project.urls"
WSGI_APPLICATION = "jopay_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# PostgreSQL only (D30); any other scheme stops the process naming the variable.
_db = env_database_url("DATABASE_URL", conn_max_age=60, conn_health_checks=True)
if _db is not None:
    # Server-side parameters, so psycopg can prepare the statements a
    # process runs again and again (auth, create, list): PostgreSQL then
    # plans each once per connection instead of on every request. Behind a
    # transaction-mode pooler without prepared-statement support, end
    # DATABASE_URL in ?prepare_threshold=none: a value there wins (it was
    # overwritten, so only an edit of this file could).
    _options = _db.setdefault("OPTIONS", {})
    _options.setdefault("server_side_binding", True)
    _options.setdefault("prepare_threshold", 2)
    if str(_options["prepare_threshold"]).lower() in ("none", "null", ""):
        _options["prepare_threshold"] = None
    elif not isinstance(_options["prepare_threshold"], int):
        raise ImproperlyConfigured(
            "DATABASE_URL's prepare_threshold must be a whole number or none"
        )
    # Without it libpq waits for ever on a server that accepts the TCP
    # connection but never answers (hung, or behind a network dropping
    # packets): every call hung until gunicorn killed its worker (the
    # caller got a dropped connection, not an envelope) and /readyz never
    # said 503 (tests/resilience/test_postgres_unreachable.py). A
    # ``connect_timeout`` in DATABASE_URL's query wins.
    _db["OPTIONS"].setdefault(
        "connect_timeout",
        env_int("JOPAY_DB_CONNECT_TIMEOUT", 5, minimum=2, maximum=30),
    )
else:
    # The embedded set keeps everything under DATA_DIR. A folder that could
    # not be made or written (a typo, another user's path) ended in SQLite's
    # "unable to open database file", naming neither the path nor the variable.
    if not (DATA_DIR.is_dir() and os.access(DATA_DIR, os.W_OK | os.X_OK)):
        raise ImproperlyConfigured(
            f"JOPAY_DATA_DIR {str(DATA_DIR)!r} is not a folder this user can "
            "write (the embedded SQLite, cache and queue live there)"
        )
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "jopay.sqlite3"),
        # Several processes (gunicorn, worker, beat) share the file.
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
DATABASES = {"default": _db}
USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate-limit counters, D27) ------------------------------------------
# redis:// or rediss:// with a host; a unix:// socket has none, and was always refused.
REDIS_URL = env_redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jopay",
            # A dead cache host fails a call in a second instead of hanging a
            # worker; rate limits then fail open (jopay_project/ratelimits.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # D30: a cache every process shares, so rate limits hold without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "jopay_cache",
            # Django's default (300 entries, then a third culled) would drop
            # live rate-limit counters, SSO nonces and the watcher lock; expired
            # rows are culled first, so this only bounds a runaway table.
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }

# --- Celery (D24, D30) --------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A Redis that accepts connections but never answers (paused, failing
    # over, cut off on an open connection) blocked a publish for ever, and
    # every API create or proof POST publishes after its commit: each held a
    # gunicorn worker until gunicorn killed it. With these a publish fails in
    # seconds; the outbox sweeper and the proof re-check find the work (D24).
    # socket_timeout stays above kombu's 1 s BRPOP poll. Worst case for one
    # publish: two tries of one 5 s read each.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 600,
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        "socket_keepalive": True,
        "retry_on_timeout": False,  # the publish retry below is the one retry
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = 2
    CELERY_TASK_PUBLISH_RETRY_POLICY = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
else:
    _celery_dir = DATA_DIR / "celery"
    _make_dirs(*(_celery_dir / name for name in ("queue", "processed", "control")))
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
# rediss://: the broker verifies the server's certificate, as the cache
# (redis-py) does. Without this kombu logged "defaulting to insecure SSL
# behaviour" and connected with ssl_cert_reqs=CERT_NONE: any certificate.
CELERY_BROKER_USE_SSL = (
    {"ssl_cert_reqs": ssl.CERT_REQUIRED} if REDIS_URL.startswith("rediss://") else False
)
CELERY_TASK_ALWAYS_EAGER = False
# Two queues, and a worker started without -Q consumes both (D30: one worker
# command). Beat's ticks go to ``periodic`` (routes in jopay_project.celery),
# everything else to ``celery``. With one queue, a backlog of deliveries or
# proof checks deeper than a tick's expiry made every tick expire unread: the
# chain watcher, the retry sweep and request expiry stopped until it drained.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_PERIODIC_QUEUE = "periodic"
CELERY_TASK_QUEUES = {CELERY_TASK_DEFAULT_QUEUE: {}, CELERY_PERIODIC_QUEUE: {}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60
CELERY_TASK_SOFT_TIME_LIMIT = 50
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# None: a worker cut off from Redis keeps trying (every 30 s) until it is back.
# Celery's default, 100 tries, made it exit after 47 minutes (OPERATIONS.md).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Celery's own format drops the logger's name, which OPERATIONS.md tells the
# operator to search for (jopay.chain, jopay.tasks …); gunicorn's lines have it.
CELERY_WORKER_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s: %(message)s"
)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}  # filled by jopay_project.celery

# --- Auth ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/portal/login/"
LOGIN_REDIRECT_URL = "/portal/"

# --- I18N / static ----------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- DRF / OpenAPI (D2, D3) -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["merchants.authentication.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["jopay_project.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "jopay_project.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "jopay_project.schema.JoPayAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "JoPay partner API",
    "DESCRIPTION": (
        "Create fiat-denominated payment requests paid in USDC. Every call carries "
        "`Authorization: Bearer jo_live_…` or `jo_test_…`. Errors answer "
        '`{"ok": false, "error": "<code>", "message": "…"}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The bearer scheme and each operation's security come from the
    # authentication class (jopay_project/schema.py); declaring them here too
    # listed every operation's security twice.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jopay_project.schema.add_error_envelope",
        "jopay_project.schema.describe_operations",
    ],
    # Request and plan statuses are in both a list item and a single answer (D2):
    # named here, they keep their published names instead of hashed ones. The
    # values are PaymentRequest.Status and Plan.Status (test_list_schema.py checks).
    "ENUM_NAME_OVERRIDES": {
        "PaymentRequestOutputStatusEnum": [
            "requested",
            "opened",
            "expired",
            "cancelled",
            "paid",
        ],
        "PlanOutputDocStatusEnum": ["active", "paused", "cancelled", "completed"],
    },
}

# --- Rate limits (D27) --------------------------------------------------------------
RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = env_bool("JOPAY_RATELIMIT_ENABLE", True)
RATELIMIT_FAIL_OPEN = False

# --- JoPay ---------------------------------------------------------------
JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS", DEBUG)
JOPAY_WEBHOOK_CA_BUNDLE = env_str("JOPAY_WEBHOOK_CA_BUNDLE")
if JOPAY_WEBHOOK_CA_BUNDLE and not Path(JOPAY_WEBHOOK_CA_BUNDLE).is_file():
    raise ImproperlyConfigured("JOPAY_WEBHOOK_CA_BUNDLE must name an existing file")
if JOPAY_WEBHOOK_CA_BUNDLE:
    # Loaded as deliveries load it: a file holding no certificate failed every
    # delivery's TLS set-up, and five days later every endpoint was off (D24).
    try:
        ssl.create_default_context(cafile=JOPAY_WEBHOOK_CA_BUNDLE)
    except (ssl.SSLError, OSError) as exc:
        raise ImproperlyConfigured(
            f"JOPAY_WEBHOOK_CA_BUNDLE must be PEM CA certificates: {exc}"
        ) from None
# The longest webhook duration setting: a year, far past D24's 72 h and 5 days.
# A value of ~10^11 s or more made every delivery's next_attempt_at (now + delay)
# or the streak check (now - limit) raise OverflowError in the worker.
_WEBHOOK_SECONDS_MAX = 366 * 24 * 3600
# D24: 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 12 h, 12 h, 15 h, 15 h (11 tries).
JOPAY_WEBHOOK_RETRY_SCHEDULE = env_int_list(
    "JOPAY_WEBHOOK_RETRY_SCHEDULE",
    [60, 300, 1800, 7200, 18000, 36000, 43200, 43200, 54000, 54000],
    maximum=_WEBHOOK_SECONDS_MAX,
)
JOPAY_WEBHOOK_TIMEOUT_SECONDS = 8
# A 2xx that took this long or longer marks the endpoint slow: it then takes one
# attempt at a time, like a failing one, until a 2xx comes faster
# (``webhooks.services.claims``). Not in D24, which times only the 8 s limit.
JOPAY_WEBHOOK_SLOW_SECONDS = env_int(
    "JOPAY_WEBHOOK_SLOW_SECONDS", 2, minimum=1, maximum=JOPAY_WEBHOOK_TIMEOUT_SECONDS
)
JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS = env_int(
    "JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS",
    5 * 24 * 3600,
    minimum=1,
    maximum=_WEBHOOK_SECONDS_MAX,
)
# Proxies in front of gunicorn that append to X-Forwarded-For (a TLS-terminating
# load balancer: 1). With 0 the client is REMOTE_ADDR; behind a proxy that
# would put every caller in one per-IP rate-limit bucket (D27): ten failed
# sign-ins anywhere locked everyone out. A production https base URL already
# means a TLS-terminating proxy in front (its X-Forwarded-Proto is trusted
# below), so there the default is 1.
_BEHIND_TLS_PROXY = not DEBUG and JOPAY_PUBLIC_BASE_URL.startswith("https://")
JOPAY_TRUSTED_PROXY_COUNT = env_int(
    "JOPAY_TRUSTED_PROXY_COUNT", 1 if _BEHIND_TLS_PROXY else 0, minimum=0
)
# D14: a public feed with a second as fallback, unless JOPAY_FX_FEEDS says
# otherwise (an empty value turns refreshing off: pinned rates only).
DEFAULT_FX_FEEDS = [
    "https://open.er-api.com/v6/latest/USD",  # ~160 currencies, per USD
    "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml",  # per EUR
]
JOPAY_FX_FEEDS = env_url_list(
    "JOPAY_FX_FEEDS", DEFAULT_FX_FEEDS, schemes=("http", "https")
)
JOPAY_FX_TIMEOUT_SECONDS = env_int("JOPAY_FX_TIMEOUT_SECONDS", 10, minimum=1)
# The refresh task's soft time limit (payments.tasks). D14's two tries of every
# feed must fit in it: past it the task was cut off before the fallback feed
# was asked (a timeout of 38 s, or four feeds at 10 s), so a stalled primary
# left the rates to go stale.
FX_REFRESH_SOFT_LIMIT_SECONDS = 75
_FX_WORST_CASE = 2 * len(JOPAY_FX_FEEDS) * JOPAY_FX_TIMEOUT_SECONDS
if _FX_WORST_CASE >= FX_REFRESH_SOFT_LIMIT_SECONDS:
    raise ImproperlyConfigured(
        f"JOPAY_FX_FEEDS ({len(JOPAY_FX_FEEDS)}) x 2 tries x JOPAY_FX_TIMEOUT_SECONDS "
        f"({JOPAY_FX_TIMEOUT_SECONDS}) = {_FX_WORST_CASE} s must stay under the "
        f"refresh task's {FX_REFRESH_SOFT_LIMIT_SECONDS} s limit"
    )
JOPAY_FX_STALE_AFTER_SECONDS = 24 * 3600
# E-mail (the merchant onboarding e-mail, spec §5.1): SMTP when EMAIL_HOST is
# set; without it, printed by the worker under DEBUG and not sent otherwise.
# Trimmed: a value from a secret file keeps its newline.
EMAIL_HOST = env_str("EMAIL_HOST").strip()
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER").strip()
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
# Port 465 speaks TLS from the first byte (SMTPS): with STARTTLS the only
# choice, every send there waited 10 s for a greeting and failed.
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_SSL and EMAIL_USE_TLS:  # Django's backend refuses every send then
    raise ImproperlyConfigured("EMAIL_USE_SSL and EMAIL_USE_TLS are one or the other")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_sender("DEFAULT_FROM_EMAIL", "JoPay <no-reply@localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST or not DEBUG
    else "django.core.mail.backends.console.EmailBackend"
)
JOPAY_ONBOARDING_EMAIL = env_bool("JOPAY_ONBOARDING_EMAIL", bool(EMAIL_HOST) or DEBUG)
# The terms a merchant accepts on the onboarding page (D28): linked there, and
# the version is stored with the acceptance.
JOPAY_TERMS_URL = env_url("JOPAY_TERMS_URL", schemes=("http", "https"))
JOPAY_TERMS_VERSION = env_str("JOPAY_TERMS_VERSION", "1")
if len(JOPAY_TERMS_VERSION) > 40:  # Merchant.terms_version; cut, two versions met
    raise ImproperlyConfigured("JOPAY_TERMS_VERSION must be at most 40 characters")
JOPAY_RECURRING_EXECUTORS = env_mapping("JOPAY_RECURRING_EXECUTORS")
JOPAY_AUTO_FORWARD_EXECUTORS = env_mapping("JOPAY_AUTO_FORWARD_EXECUTORS")
# Single sign-on needs all three; one or two alone is a half-done set-up.
env_all_or_none("JOPAY_OIDC_ISSUER", "JOPAY_OIDC_AUDIENCE", "JOPAY_OIDC_JWKS_URL")
# Stripped: a value from a secret file keeps its trailing newline, and a token's
# "iss"/"aud" never matched it, so every SSO sign-in failed (D33).
JOPAY_OIDC_ISSUER = env_str("JOPAY_OIDC_ISSUER").strip()
JOPAY_OIDC_AUDIENCE = env_str("JOPAY_OIDC_AUDIENCE").strip()
JOPAY_OIDC_JWKS_URL = env_url("JOPAY_OIDC_JWKS_URL", schemes=("http", "https"))
# D35: an http:// key set is accepted for a loopback host only. Refused here, at
# start-up: accepted, it failed every sign-in as invalid_id_token, the cause
# only in a log line written on each attempt.
if JOPAY_OIDC_JWKS_URL and not https_or_loopback_http(JOPAY_OIDC_JWKS_URL):
    raise ImproperlyConfigured(
        "JOPAY_OIDC_JWKS_URL must be https (http only for a loopback host), "
        f"not {JOPAY_OIDC_JWKS_URL!r}"
    )

# --- Production hardening (`check --deploy`) ------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every HTML page (jopay_project.middleware): same-origin script files only, so
# markup that slipped into a memo or a partner's branding could never run.
JOPAY_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "img-src 'self' https: data:",  # partner logos are https URLs
        "style-src 'self' 'unsafe-inline'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ]
)
if _BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "filters": {
        # A live onboarding token is a credential: Django's own warnings (a
        # refused CSRF check) quote the request path, /onboard/<token>/.
        "redact_tokens": {"()": "jopay_project.logfilters.RedactOnboardingTokens"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env_log_level("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
