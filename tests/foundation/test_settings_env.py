"""Settings refuse bad environment values at start-up (D31)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from jopay_project import env
from tests.foundation.deployed import PRODUCTION, deployed_setting, run_deployed


@pytest.mark.parametrize(
    ("reader", "name", "value"),
    [
        (lambda: env.env_bool("X_BOOL"), "X_BOOL", "maybe"),
        (lambda: env.env_int("X_INT", 1), "X_INT", "ten"),
        (lambda: env.env_int("X_INT", 1, minimum=1), "X_INT", "0"),
        (lambda: env.env_int_list("X_SCHED", [1]), "X_SCHED", "60,abc"),
        (lambda: env.env_int_list("X_SCHED", [1]), "X_SCHED", "60,-1"),
        (lambda: env.env_url("X_URL", schemes=("https",)), "X_URL", "ftp://x"),
        (lambda: env.env_url("X_URL", schemes=("https",)), "X_URL", "https://"),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "137:0xabc"),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "137=0x123"),
        # D31: 0x + 40 hex digits. int(…, 16) took a sign, and other scripts'
        # digits, so these loaded as executor addresses (D29).
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "137=0x-" + "0" * 38 + "1"),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "137=0x+" + "0" * 38 + "1"),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "137=0x" + "0" * 39 + "\uff11"),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "137=0x" + "1_" * 19 + "12"),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "+137=0x" + "a" * 40),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "1_37=0x" + "a" * 40),
        (lambda: env.env_mapping("X_MAP"), "X_MAP", "0=0x" + "a" * 40),
        # The same chain twice: which executor held depended on the order.
        (
            lambda: env.env_mapping("X_MAP"),
            "X_MAP",
            f"137=0x{'a' * 40},137=0x{'b' * 40}",
        ),
    ],
)
def test_bad_values_are_refused(monkeypatch, reader, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured):
        reader()


def test_good_values_parse(monkeypatch):
    monkeypatch.setenv("X_SCHED", "1, 2,3")
    monkeypatch.setenv("X_MAP", "137=0x" + "a" * 40)
    monkeypatch.setenv("X_BOOL", "On")
    assert env.env_int_list("X_SCHED", []) == [1, 2, 3]
    assert env.env_mapping("X_MAP") == {137: "0x" + "a" * 40}
    monkeypatch.setenv("X_MAP", f" 137 = 0x{'A' * 40} , 8453=0x{'b' * 40}")
    assert env.env_mapping("X_MAP") == {137: "0x" + "A" * 40, 8453: "0x" + "b" * 40}
    assert env.env_bool("X_BOOL") is True


def test_production_settings_refuse_a_missing_secret_key(tmp_path):
    result = run_deployed("import django; django.setup()", check=False, DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def _embedded_caches() -> dict:
    """CACHES as the embedded default (no REDIS_URL) configures it."""
    return deployed_setting("CACHES", DEBUG="1")


@pytest.mark.django_db(transaction=True)
def test_the_embedded_cache_keeps_more_than_djangos_300_live_entries(settings):
    # D30: rate-limit counters, SSO nonces and the watcher lock live in this
    # cache; Django's default MAX_ENTRIES (300) culled a third of them.
    from django.core.cache import caches
    from django.core.management import call_command

    embedded = _embedded_caches()
    assert embedded["default"]["BACKEND"].endswith("DatabaseCache")
    settings.CACHES = {"default": embedded["default"]}
    call_command("createcachetable")
    cache = caches.create_connection("default")
    try:
        for i in range(400):
            cache.set(f"rl:{i}", i, 300)
        assert cache.get("rl:0") == 0
        assert cache.get("rl:399") == 399
    finally:
        cache.clear()


def test_a_production_https_site_counts_its_tls_proxy_by_default():
    # D27: with 0, every caller behind the proxy shared one per-IP bucket.
    assert deployed_setting("JOPAY_TRUSTED_PROXY_COUNT", **PRODUCTION) == 1


def test_the_proxy_count_is_0_without_an_https_proxy_and_can_be_set():
    assert deployed_setting("JOPAY_TRUSTED_PROXY_COUNT", DEBUG="1") == 0
    overridden = {**PRODUCTION, "JOPAY_TRUSTED_PROXY_COUNT": "2"}
    assert deployed_setting("JOPAY_TRUSTED_PROXY_COUNT", **overridden) == 2


def test_secret_key_fallbacks_come_from_the_environment():
    # The documented key rotation (README): without it, rotating SECRET_KEY
    # signed everyone out and replaced every onboarding link already sent.
    rotated = {**PRODUCTION, "SECRET_KEY_FALLBACKS": "o" * 40}
    assert deployed_setting("SECRET_KEY_FALLBACKS", **rotated) == ["o" * 40]
    assert deployed_setting("SECRET_KEY_FALLBACKS", **PRODUCTION) == []


def test_postgres_connections_give_up_after_the_connect_timeout():
    """A hung server cost each call gunicorn's 30 s worker timeout and a
    dropped connection (tests/resilience/test_postgres_unreachable.py)."""
    url = "postgresql://u@db.example:5432/jopay"
    options = deployed_setting("DATABASES", DATABASE_URL=url, **PRODUCTION)
    assert options["default"]["OPTIONS"]["connect_timeout"] == 5
    options = deployed_setting(
        "DATABASES", DATABASE_URL=url, JOPAY_DB_CONNECT_TIMEOUT="3", **PRODUCTION
    )
    assert options["default"]["OPTIONS"]["connect_timeout"] == 3
    options = deployed_setting(
        "DATABASES", DATABASE_URL=url + "?connect_timeout=9", **PRODUCTION
    )
    assert options["default"]["OPTIONS"]["connect_timeout"] in (9, "9")


def test_a_tls_redis_broker_verifies_the_servers_certificate():
    """With rediss:// and no broker_use_ssl, kombu logged "defaulting to
    insecure SSL behaviour" and connected with ssl_cert_reqs=CERT_NONE: the
    queue (webhook and proof tasks) took any certificate, while the cache on
    the same URL verified it."""
    import ssl

    url = "rediss://:pw@redis.example:6380/0"
    got = deployed_setting("CELERY_BROKER_USE_SSL", REDIS_URL=url, **PRODUCTION)
    assert got == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    plain = "redis://127.0.0.1:6379/0"
    assert (
        deployed_setting("CELERY_BROKER_USE_SSL", REDIS_URL=plain, **PRODUCTION)
        is False
    )


def test_prepared_statements_can_be_switched_off_in_the_database_url():
    """Behind a transaction-mode pooler (PgBouncer) prepared statements fail
    ("prepared statement … does not exist"); the settings said to set
    prepare_threshold to None, but overwrote whatever DATABASE_URL's query
    gave, so only an edit of settings.py could. A value in the URL now wins,
    as connect_timeout's does."""
    url = "postgresql://u@db.example:6432/jopay"
    options = deployed_setting(
        "DATABASES",
        DATABASE_URL=url + "?prepare_threshold=none&server_side_binding=false",
        **PRODUCTION,
    )["default"]["OPTIONS"]
    assert (options["prepare_threshold"], options["server_side_binding"]) == (
        None,
        False,
    )
    options = deployed_setting("DATABASES", DATABASE_URL=url, **PRODUCTION)
    assert options["default"]["OPTIONS"]["prepare_threshold"] == 2
    assert options["default"]["OPTIONS"]["server_side_binding"] is True
