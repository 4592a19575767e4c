"""The host of JOPAY_PUBLIC_BASE_URL is always one JoPay answers (D31).

Every pay-page and onboarding link points at it. With ALLOWED_HOSTS unset
(localhost only) or naming another host, each of those links answered 400 while
``/readyz`` (answered before the host check) said 200, so nothing noticed.
"""

from __future__ import annotations

import pytest

from tests.foundation.test_settings_validation import load_settings, loaded


@pytest.mark.parametrize(
    ("hosts", "base", "expected"),
    [
        (
            None,
            "https://pay.example.com",
            ["localhost", "127.0.0.1", "[::1]", "pay.example.com"],
        ),
        (
            "api.example.com",
            "https://pay.example.com/jopay",
            ["api.example.com", "pay.example.com"],
        ),
        (
            "api.example.com",
            "https://[2001:db8::1]:8443",
            ["api.example.com", "[2001:db8::1]"],
        ),
    ],
    ids=["unset", "another-host", "ipv6"],
)
def test_the_public_base_urls_host_is_allowed(tmp_path, hosts, base, expected):
    drop = ("ALLOWED_HOSTS",) if hosts is None else ()
    values = {"JOPAY_PUBLIC_BASE_URL": base}
    if hosts is not None:
        values["ALLOWED_HOSTS"] = hosts
    assert loaded(load_settings(tmp_path, drop=drop, **values))["hosts"] == expected


def test_a_public_host_already_allowed_is_not_added_twice(tmp_path):
    got = loaded(load_settings(tmp_path, ALLOWED_HOSTS=".example.com"))["hosts"]
    assert got == [".example.com"]  # matches pay.example.com already


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:99999/0"),
        ("REDIS_URL", "rediss://jopay:s3cret@redis.example/abc"),
        ("JOPAY_PUBLIC_BASE_URL", "https://ops:s3cret@pay.example.com?x=1"),
        ("JOPAY_FX_FEEDS", "ftp://feed:s3cret@fx.example/rates"),
    ],
)
def test_a_refused_url_is_shown_without_its_password(tmp_path, name, value):
    """Start-up errors go to the service's log (and now to one line of a
    command's stderr): the refusal quoted the whole URL, password included."""
    from tests.foundation.test_settings_validation import refused

    result = load_settings(tmp_path, **{name: value})
    refused(result, name)
    assert "s3cret" not in result.stderr
    assert "***" in result.stderr


MAIL = (
    "import json; from jopay_project import settings as s; "
    "print(json.dumps([s.EMAIL_USE_SSL, s.EMAIL_USE_TLS]))"
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"EMAIL_PORT": "465"}, [True, False]),
        ({"EMAIL_PORT": "587"}, [False, True]),
        ({"EMAIL_PORT": "2465", "EMAIL_USE_SSL": "1"}, [True, False]),
    ],
    ids=["smtps-port", "submission-port", "smtps-elsewhere"],
)
def test_smtp_over_tls_from_the_first_byte_can_be_configured(
    tmp_path, values, expected
):
    """Port 465 speaks TLS from the first byte. Only STARTTLS could be set:
    the worker waited 10 s for a greeting that never came, on every try of
    every onboarding e-mail, and no merchant was mailed its link."""
    got = loaded(
        load_settings(tmp_path, code=MAIL, EMAIL_HOST="smtp.example.com", **values)
    )
    assert got == expected


def test_starttls_and_smtps_together_are_refused(tmp_path):
    """Django's SMTP backend refuses both at every send (ValueError)."""
    from tests.foundation.test_settings_validation import refused

    result = load_settings(tmp_path, EMAIL_USE_SSL="1", EMAIL_USE_TLS="1")
    refused(result, "EMAIL_USE_SSL")
