"""Start-up settings, set but empty or malformed (D31: a bad value stops the
process; README: an empty value is the default, as for the integer settings).

A deployment tool that interpolates an unset variable (``${VAR}`` in a compose
file, ``Environment=VAR=`` in a unit) hands JoPay an empty string.
"""

from __future__ import annotations

import pytest

from tests.foundation.test_settings_validation import load_settings, loaded, refused

BOOLS = (
    "import json; from jopay_project import settings as s; print(json.dumps({"
    "'ratelimit': s.RATELIMIT_ENABLE, 'tls': s.EMAIL_USE_TLS, "
    "'redirect': s.SECURE_SSL_REDIRECT, 'mail': s.JOPAY_ONBOARDING_EMAIL}))"
)


def test_an_empty_boolean_is_its_default_not_off(tmp_path):
    """JOPAY_RATELIMIT_ENABLE= read as 0 switched every rate limit off, the
    sign-in limits included; EMAIL_USE_TLS= sent the SMTP password in clear;
    SECURE_SSL_REDIRECT= stopped the redirect to HTTPS."""
    got = loaded(
        load_settings(
            tmp_path,
            code=BOOLS,
            JOPAY_RATELIMIT_ENABLE="",
            EMAIL_USE_TLS=" ",
            SECURE_SSL_REDIRECT="",
            EMAIL_HOST="smtp.example.com",
            JOPAY_ONBOARDING_EMAIL="",
        )
    )
    assert got == {"ratelimit": True, "tls": True, "redirect": True, "mail": True}


def test_an_empty_data_dir_is_the_default_folder_not_the_working_directory(tmp_path):
    """JOPAY_DATA_DIR= put the SQLite file, the beat schedule and the static
    files in whatever folder each process was started from."""
    got = loaded(
        load_settings(
            tmp_path,
            code=(
                "from jopay_project import settings as s; "
                "print('\"%s\"' % s.CELERY_BEAT_SCHEDULE_FILENAME)"
            ),
            JOPAY_DATA_DIR="",
        )
    )
    assert got.endswith("/.run/data/celerybeat-schedule"), got


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:99999/0",  # every API call answered 500 api_error
        "redis://127.0.0.1:port/0",
        "redis://127.0.0.1:6379/abc",  # the cache used DB 0, the broker failed
        "redis://127.0.0.1:6379/0/1",
        "redis://127.0.0.1:6379/-1",
    ],
)
def test_a_redis_url_with_a_bad_port_or_database_is_refused(tmp_path, url):
    refused(load_settings(tmp_path, REDIS_URL=url), "REDIS_URL")


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/4", "redis://127.0.0.1", "rediss://r.example/"]
)
def test_a_redis_url_with_a_port_and_database_loads(tmp_path, url):
    loaded(load_settings(tmp_path, REDIS_URL=url))


def test_empty_text_settings_are_their_defaults(tmp_path):
    """JOPAY_TERMS_VERSION= stored '' as the version of the terms each merchant
    accepted (D28); DEFAULT_FROM_EMAIL= sent the onboarding e-mail from ''."""
    got = loaded(
        load_settings(
            tmp_path,
            code=(
                "import json; from jopay_project import settings as s; "
                "print(json.dumps([s.JOPAY_TERMS_VERSION, s.DEFAULT_FROM_EMAIL]))"
            ),
            JOPAY_TERMS_VERSION="",
            DEFAULT_FROM_EMAIL=" ",
        )
    )
    assert got == ["1", "JoPay <no-reply@localhost>"]


def test_a_terms_version_longer_than_its_column_is_refused(tmp_path):
    """It was cut to 40 characters without a word: two versions that differ
    after the 40th were stored as the same one."""
    refused(
        load_settings(
            tmp_path, JOPAY_TERMS_VERSION="2027-01-merchant-terms-" + "x" * 30
        ),
        "JOPAY_TERMS_VERSION",
    )


@pytest.mark.parametrize("port", ["0", "65536", "587000"])
def test_an_smtp_port_outside_1_to_65535_is_refused(tmp_path, port):
    """EMAIL_PORT=587000 (a typo of 587) loaded; the worker then dialled port
    62712 (587000 mod 65536) for every onboarding e-mail, six tries each."""
    refused(load_settings(tmp_path, EMAIL_PORT=port), "EMAIL_PORT")


def test_a_public_base_url_with_an_upper_case_scheme_still_turns_https_on(tmp_path):
    """HTTPS://pay.example.com loaded (urlsplit reads the scheme in any case),
    but the https test was startswith("https://"): session cookies went out
    without Secure, no HSTS, no redirect, and JOPAY_TRUSTED_PROXY_COUNT fell
    to 0, so every caller shared the proxy's per-IP rate limits (D27)."""
    got = loaded(
        load_settings(
            tmp_path,
            code=(
                "import json; from jopay_project import settings as s; "
                "print(json.dumps([s.JOPAY_PUBLIC_BASE_URL, s.SESSION_COOKIE_SECURE, "
                "s.SECURE_HSTS_SECONDS, s.JOPAY_TRUSTED_PROXY_COUNT]))"
            ),
            JOPAY_PUBLIC_BASE_URL="HTTPS://pay.example.com/",
        )
    )
    assert got == ["https://pay.example.com", True, 31536000, 1]


@pytest.mark.parametrize(
    "hosts",
    ["https://pay.example.com", "pay.example.com/", "pay.example.com:443"],
)
def test_an_allowed_host_that_no_host_header_can_match_is_refused(tmp_path, hosts):
    """Django compares the Host header without its port against each entry, so
    a URL or host:port copied here matched nothing: every page and API call
    answered 400 while /readyz (answered before the host check) said 200, and
    the load balancer kept sending traffic to the node."""
    refused(load_settings(tmp_path, ALLOWED_HOSTS=hosts), "ALLOWED_HOSTS")


def test_allowed_hosts_take_names_wildcards_and_bracketed_ipv6(tmp_path):
    hosts = "pay.example.com, .example.org,*,[::1],127.0.0.1"
    got = loaded(load_settings(tmp_path, ALLOWED_HOSTS=hosts))
    assert got["hosts"] == [
        "pay.example.com",
        ".example.org",
        "*",
        "[::1]",
        "127.0.0.1",
    ]


def test_a_webhook_ca_bundle_without_certificates_is_refused(tmp_path):
    """Any existing file loaded (a key, a directory listing, an empty file):
    every delivery of every partner then failed its TLS set-up, and after five
    days of failures each endpoint was switched off (failing_too_long, D24)."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    refused(
        load_settings(tmp_path, JOPAY_WEBHOOK_CA_BUNDLE=str(bundle)),
        "JOPAY_WEBHOOK_CA_BUNDLE",
    )


def test_a_webhook_ca_bundle_of_certificates_loads(tmp_path):
    import certifi

    loaded(load_settings(tmp_path, JOPAY_WEBHOOK_CA_BUNDLE=certifi.where()))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://jopay:s3cret@db.example/jopay", "mysql"),  # MySQLdb traceback
        ("sqlite:////var/lib/jopay/jopay.sqlite3", "sqlite"),
        ("postgis://jopay:s3cret@db.example/jopay", "postgis"),
        ("postgress://jopay:s3cret@db.example/jopay", "postgress"),  # a typo
        ("postgresql://jopay:s3cret@db.example", "database name"),
        ("postgresql://jopay:s3cret@db.example:99999/jopay", "DATABASE_URL"),
    ],
)
def test_a_database_url_that_is_not_postgresql_is_refused_naming_it(
    tmp_path, url, shown
):
    """D30/D31: DATABASE_URL is PostgreSQL (unset: the embedded SQLite).
    mysql:// loaded, and the first command died in Django's "Error loading
    MySQLdb module" traceback that never named the variable; a URL without a
    database name got as far as the first query. The password is never shown."""
    result = load_settings(tmp_path, DATABASE_URL=url)
    refused(result, "DATABASE_URL")
    assert shown in result.stderr
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@db.example:5432/jopay",
        "postgres://u@db.example/jopay?sslmode=require",
        "postgresql:///jopay",  # the local socket
    ],
)
def test_a_postgresql_database_url_loads(tmp_path, url):
    got = loaded(
        load_settings(
            tmp_path,
            code=(
                "import json; from jopay_project import settings as s; "
                "print(json.dumps(s.DATABASES['default']['ENGINE']))"
            ),
            DATABASE_URL=url,
        )
    )
    assert got == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    "sender",
    [
        "JoPay <no-reply@pay.example.com>\nX: y",  # a header of its own
        "JoPay",  # no address: MAIL FROM:<JoPay>
        "JoPay no-reply@pay.example.com",  # sent as "JoPay no-reply"@…
        "no-reply@pay.example.com, ops@pay.example.com",
    ],
)
def test_a_sender_address_that_no_mail_can_carry_is_refused(tmp_path, sender):
    """Loaded as they were, each made every onboarding e-mail fail in the
    worker (BadHeaderError, or a refused MAIL FROM) six tries over 30 minutes,
    then never sent: merchants were not told their link (spec §5.1)."""
    refused(load_settings(tmp_path, DEFAULT_FROM_EMAIL=sender), "DEFAULT_FROM_EMAIL")


def test_mail_settings_from_a_secret_file_lose_the_trailing_newline(tmp_path):
    """A value read from a file (a Docker or Kubernetes secret) keeps its
    newline: "JoPay <…>\\n" as the From header was refused (BadHeaderError) on
    every onboarding e-mail, and "smtp.example.com\\n" resolved to nothing."""
    got = loaded(
        load_settings(
            tmp_path,
            code=(
                "import json; from jopay_project import settings as s; "
                "print(json.dumps([s.DEFAULT_FROM_EMAIL, s.EMAIL_HOST, "
                "s.EMAIL_HOST_USER]))"
            ),
            DEFAULT_FROM_EMAIL="JoPay Payments <no-reply@pay.example.com>\n",
            EMAIL_HOST="smtp.example.com\n",
            EMAIL_HOST_USER="mailer\n",
        )
    )
    assert got == [
        "JoPay Payments <no-reply@pay.example.com>",
        "smtp.example.com",
        "mailer",
    ]
