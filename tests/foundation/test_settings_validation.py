"""Start-up validation the README promises: a bad value stops the process (D31).

Each settings test imports ``jopay_project.settings`` in a child process with
only the variables it names (and its own ``JOPAY_DATA_DIR``), so nothing of
this run's environment leaks in and the checkout's ``.run`` is not touched.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from jopay_project import env
from tests.live import ROOT

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "jopay-validation-test-key-" + "v" * 40,
    "ALLOWED_HOSTS": "pay.example.com",
    "JOPAY_PUBLIC_BASE_URL": "https://pay.example.com",
}
OIDC = {
    "JOPAY_OIDC_ISSUER": "https://idp.example.com",
    "JOPAY_OIDC_AUDIENCE": "jopay",
    "JOPAY_OIDC_JWKS_URL": "https://idp.example.com/jwks.json",
}


def load_settings(
    tmp_path, *, drop=(), code: str | None = None, **values: str
) -> subprocess.CompletedProcess:
    """Import the settings with PRODUCTION + values (minus ``drop``); on success
    stdout's last line is a JSON object of the settings the tests look at (or
    what ``code``, run instead, prints)."""
    environ = {**PRODUCTION, **values}
    for name in drop:
        environ.pop(name)
    environ.update(
        PATH="/usr/bin:/bin",
        JOPAY_DATA_DIR=environ.get("JOPAY_DATA_DIR", str(tmp_path / "data")),
    )
    code = code or (
        "import json; from jopay_project import settings as s; print(json.dumps({"
        "'fx': s.JOPAY_FX_FEEDS, 'hosts': s.ALLOWED_HOSTS, "
        "'base': s.JOPAY_PUBLIC_BASE_URL, 'oidc': s.JOPAY_OIDC_ISSUER, "
        "'aud': s.JOPAY_OIDC_AUDIENCE, "
        "'beat': s.CELERY_BEAT_SCHEDULE_FILENAME}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def loaded(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr, result.stderr[-2000:]


def test_production_values_load(tmp_path):
    got = loaded(load_settings(tmp_path, **OIDC))
    assert got["hosts"] == ["pay.example.com"]
    assert got["base"] == "https://pay.example.com"
    assert got["oidc"] == "https://idp.example.com"
    assert got["fx"][0].startswith("https://")


# --- JOPAY_FX_FEEDS -----------------------------------------------------------


@pytest.mark.parametrize(
    "feeds",
    [
        "open.er-api.com/v6/latest/USD",
        "https://open.er-api.com/v6/latest/USD,ftp://feeds.example.com/x",
        "file:///etc/passwd",
        "https://",
    ],
)
def test_fx_feeds_must_be_http_urls(tmp_path, feeds):
    refused(load_settings(tmp_path, JOPAY_FX_FEEDS=feeds), "JOPAY_FX_FEEDS")


def test_fx_feeds_take_http_urls_and_empty_means_pinned_rates_only(tmp_path):
    feeds = "http://127.0.0.1:9000/latest.json, https://feeds.example.com/ecb.xml"
    assert loaded(load_settings(tmp_path, JOPAY_FX_FEEDS=feeds))["fx"] == [
        "http://127.0.0.1:9000/latest.json",
        "https://feeds.example.com/ecb.xml",
    ]
    assert loaded(load_settings(tmp_path, JOPAY_FX_FEEDS=""))["fx"] == []


@pytest.mark.parametrize(
    ("timeout", "feeds"),
    [
        ("38", None),
        ("10", ",".join(f"https://fx{n}.example.com/r.json" for n in range(4))),
    ],
)
def test_fx_feeds_tries_must_fit_the_refresh_tasks_limit(tmp_path, timeout, feeds):
    # D14: two tries per feed; past the task's 75 s the fallback was never asked.
    values = {"JOPAY_FX_TIMEOUT_SECONDS": timeout}
    if feeds:
        values["JOPAY_FX_FEEDS"] = feeds
    refused(load_settings(tmp_path, **values), "refresh task's 75 s limit")


def test_fx_feeds_default_and_three_feeds_fit(tmp_path):
    three = ",".join(f"https://fx{n}.example.com/r.json" for n in range(3))
    assert len(loaded(load_settings(tmp_path, JOPAY_FX_FEEDS=three))["fx"]) == 3
    assert (
        len(loaded(load_settings(tmp_path, JOPAY_FX_TIMEOUT_SECONDS="18"))["fx"]) == 2
    )


def test_env_url_list_refuses_an_entry_without_a_host(monkeypatch):
    monkeypatch.setenv("X_FEEDS", "https://a.example.com,http:/b")
    with pytest.raises(ImproperlyConfigured, match="http:/b"):
        env.env_url_list("X_FEEDS", schemes=("http", "https"))


# --- OIDC: all three or none --------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    [
        ("JOPAY_OIDC_ISSUER",),
        ("JOPAY_OIDC_AUDIENCE",),
        ("JOPAY_OIDC_JWKS_URL",),
        ("JOPAY_OIDC_ISSUER", "JOPAY_OIDC_AUDIENCE"),
        ("JOPAY_OIDC_AUDIENCE", "JOPAY_OIDC_JWKS_URL"),
    ],
)
def test_oidc_settings_come_all_together(tmp_path, missing):
    values = {name: value for name, value in OIDC.items() if name not in missing}
    refused(load_settings(tmp_path, **values), missing[0])


@pytest.mark.parametrize(
    "jwks",
    ["http://idp.example.com/jwks.json", "http://10.0.0.5/jwks", "http://localhost./j"],
)
def test_an_http_jwks_url_off_loopback_is_refused_at_start_up(tmp_path, jwks):
    # D35: http:// only for a loopback host. Accepted, every SSO sign-in then
    # failed as invalid_id_token with the cause only in a log line.
    result = load_settings(tmp_path, **{**OIDC, "JOPAY_OIDC_JWKS_URL": jwks})
    refused(result, "JOPAY_OIDC_JWKS_URL must be https (http only for a loopback")


@pytest.mark.parametrize(
    "jwks", ["http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]/j"]
)
def test_an_http_jwks_url_on_loopback_loads(tmp_path, jwks):
    loaded(load_settings(tmp_path, **{**OIDC, "JOPAY_OIDC_JWKS_URL": jwks}))


def test_oidc_issuer_and_audience_lose_surrounding_whitespace(tmp_path):
    # D33 compares them with the token's iss and aud exactly; a value read from
    # a secret file ends in a newline, and every sign-in failed.
    values = {
        **OIDC,
        "JOPAY_OIDC_ISSUER": "https://idp.example.com\n",
        "JOPAY_OIDC_AUDIENCE": " jopay\n",
    }
    got = loaded(load_settings(tmp_path, **values))
    assert (got["oidc"], got["aud"]) == ("https://idp.example.com", "jopay")


def test_oidc_settings_may_all_be_absent(tmp_path):
    assert loaded(load_settings(tmp_path))["oidc"] == ""


def test_an_empty_oidc_value_counts_as_missing(monkeypatch):
    monkeypatch.setenv("X_A", "set")
    monkeypatch.setenv("X_B", "  ")
    with pytest.raises(ImproperlyConfigured, match="X_B is missing"):
        env.env_all_or_none("X_A", "X_B")
    monkeypatch.setenv("X_A", "")
    env.env_all_or_none("X_A", "X_B")  # none set: fine


# --- ALLOWED_HOSTS and JOPAY_PUBLIC_BASE_URL with DEBUG off -------------------


@pytest.mark.parametrize("hosts", ["", " , "])
def test_an_empty_allowed_hosts_is_refused_with_debug_off(tmp_path, hosts):
    refused(load_settings(tmp_path, ALLOWED_HOSTS=hosts), "ALLOWED_HOSTS")


def test_an_empty_allowed_hosts_is_fine_with_debug_on(tmp_path):
    # Django's own DEBUG fallback (localhost) applies then.
    assert loaded(load_settings(tmp_path, ALLOWED_HOSTS="", DEBUG="1"))["hosts"] == []


@pytest.mark.parametrize("base", [None, ""])
def test_the_public_base_url_is_required_with_debug_off(tmp_path, base):
    if base is None:
        result = load_settings(tmp_path, drop=("JOPAY_PUBLIC_BASE_URL",))
    else:
        result = load_settings(tmp_path, JOPAY_PUBLIC_BASE_URL=base)
    refused(result, "JOPAY_PUBLIC_BASE_URL must be set when DEBUG is off")


def test_the_public_base_url_defaults_to_loopback_with_debug_on(tmp_path):
    result = load_settings(tmp_path, drop=("JOPAY_PUBLIC_BASE_URL",), DEBUG="1")
    assert loaded(result)["base"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("https://pay.example.com?ref=1", "must have no query or fragment"),
        ("https://pay.example.com/?", "must have no query or fragment"),
        ("https://pay.example.com/#top", "must have no query or fragment"),
        ("https://ops:s3cret@pay.example.com", "must not carry a user name"),
    ],
)
def test_the_public_base_url_must_be_a_plain_prefix(tmp_path, base, message):
    # D31: it is the prefix of pay_page_url and onboarding_url. With a query
    # every link was "https://pay.example.com?ref=1/pay/<id>" (the home page);
    # credentials went out in every link and webhook.
    refused(load_settings(tmp_path, JOPAY_PUBLIC_BASE_URL=base), message)


@pytest.mark.parametrize(
    ("base", "stored"),
    [
        ("https://pay.example.com/", "https://pay.example.com"),
        ("https://example.com/jopay", "https://example.com/jopay"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_a_public_base_url_with_a_path_or_port_loads(tmp_path, base, stored):
    assert loaded(load_settings(tmp_path, JOPAY_PUBLIC_BASE_URL=base))["base"] == stored


# --- The data folder (beat schedule, SQLite, file-system transport) -----------


def test_settings_create_the_data_folder_beat_writes_its_schedule_in(tmp_path):
    # `celery -A jopay_project beat` outside `make run` used to die with
    # FileNotFoundError: nothing had created .run/data.
    data = tmp_path / "not" / "there" / "yet"
    got = loaded(load_settings(tmp_path, JOPAY_DATA_DIR=str(data)))
    assert got["beat"] == str(data / "celerybeat-schedule")
    assert data.is_dir()
    # Without REDIS_URL: the file-system transport's folders too.
    for name in ("queue", "processed", "control"):
        assert (data / "celery" / name).is_dir()


def test_a_data_folder_that_cannot_be_created_does_not_stop_the_settings(tmp_path):
    # A read-only place (here: below a file) on PostgreSQL + Redis never
    # writes there, so the settings still load.
    blocker = tmp_path / "file"
    blocker.write_text("")
    got = loaded(
        load_settings(
            tmp_path,
            JOPAY_DATA_DIR=str(blocker / "data"),
            # As the comment says (the embedded set does write there, and is
            # refused: tests/foundation/test_settings_urls.py).
            DATABASE_URL="postgresql://jopay@db.example/jopay",
            REDIS_URL="redis://cache.example:6379/0",
        )
    )
    assert got["beat"].startswith(str(blocker))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JOPAY_WEBHOOK_RETRY_SCHEDULE", "60,1000000000000"),
        ("JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS", "100000000000"),
    ],
)
def test_webhook_durations_past_a_year_are_refused(tmp_path, name, value):
    """Taken, they made the worker's now + delay (or now - limit) raise
    OverflowError on every failed delivery."""
    refused(load_settings(tmp_path, **{name: value}), name)


def test_webhook_durations_up_to_a_year_load(tmp_path):
    year = str(366 * 24 * 3600)
    loaded(
        load_settings(
            tmp_path,
            JOPAY_WEBHOOK_RETRY_SCHEDULE=f"60,{year}",
            JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS=year,
        )
    )


@pytest.mark.parametrize("value", ["0", "9", "1.5", "two"])
def test_a_slow_mark_outside_1_to_8_seconds_is_refused(tmp_path, value):
    """JOPAY_WEBHOOK_SLOW_SECONDS: 0 would mark every endpoint slow, past the 8 s
    timeout none (every slower answer is a timeout, D24)."""
    refused(
        load_settings(tmp_path, JOPAY_WEBHOOK_SLOW_SECONDS=value),
        "JOPAY_WEBHOOK_SLOW_SECONDS",
    )


def test_a_slow_mark_of_1_to_8_seconds_loads(tmp_path):
    for value in ("1", "8"):
        loaded(load_settings(tmp_path, JOPAY_WEBHOOK_SLOW_SECONDS=value))


def test_a_unix_socket_redis_url_is_refused_as_what_it_is(tmp_path):
    """A unix:// URL has no host and was always refused, but the message
    offered "unix" as an accepted scheme."""
    refused(
        load_settings(tmp_path, REDIS_URL="unix:///run/redis.sock"),
        "REDIS_URL must be a redis/rediss URL with a host",
    )
