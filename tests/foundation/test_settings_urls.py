"""Malformed URLs in the environment stop start-up with one line naming the
variable, and never quote a feed key or a password (D31)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from jopay_project import env
from tests.foundation.test_settings_validation import load_settings

FEED_KEY = "a1b2c3d4e5f6a7b8c9d0"  # exchangerate-api puts its key in the path


@pytest.mark.parametrize(
    "value",
    [
        "https://[::1",  # urlsplit: "Invalid IPv6 URL"
        "https://pay.example.com:99999",  # a port no link can reach
        "https://pay.example.com:port",
    ],
)
def test_a_malformed_url_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("X_URL", value)
    with pytest.raises(ImproperlyConfigured, match="X_URL"):
        env.env_url("X_URL", schemes=("http", "https"))


def test_a_malformed_public_base_url_stops_start_up_in_one_line(tmp_path):
    result = load_settings(tmp_path, JOPAY_PUBLIC_BASE_URL="https://[pay.example.com")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "JOPAY_PUBLIC_BASE_URL" in last


def test_a_malformed_redis_url_hides_its_password(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2secret@[::1:6379/0")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL") as caught:
        env.env_redis_url("REDIS_URL")
    assert "hunter2secret" not in str(caught.value)


@pytest.mark.parametrize(
    "entry",
    [
        f"v6.exchangerate-api.com/v6/{FEED_KEY}/latest/USD",  # no scheme
        f"ftp://openexchangerates.org/api/latest.json?app_id={FEED_KEY}",
        f"https://user:{FEED_KEY}@[feeds.example.com/latest",
        f"https://openexchangerates.org:99999/latest.json?app_id={FEED_KEY}",
    ],
)
def test_a_refused_fx_feed_entry_never_shows_its_key(monkeypatch, entry):
    monkeypatch.setenv(
        "JOPAY_FX_FEEDS", f"https://open.er-api.com/v6/latest/USD,{entry}"
    )
    with pytest.raises(ImproperlyConfigured, match="JOPAY_FX_FEEDS") as caught:
        env.env_url_list("JOPAY_FX_FEEDS", schemes=("http", "https"))
    assert FEED_KEY not in str(caught.value)
    assert "entry 2" in str(caught.value)


def test_an_unusable_data_dir_of_the_embedded_set_is_named(tmp_path):
    """D30: without DATABASE_URL everything lives under JOPAY_DATA_DIR; a path
    that cannot be made ended in SQLite's "unable to open database file"."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = load_settings(tmp_path, JOPAY_DATA_DIR=str(blocker / "data"))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert f"JOPAY_DATA_DIR {str(blocker / 'data')!r}" in last


def test_a_data_dir_it_can_make_is_made(tmp_path):
    result = load_settings(tmp_path, JOPAY_DATA_DIR=str(tmp_path / "new" / "data"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "data").is_dir()
