"""Start-up settings, set but empty or malformed (D31: a bad value stops the
process; README: an empty value is the default, as for the integer settings).

A deployment tool that interpolates an unset variable (``${VAR}`` in a compose
file, ``Environment=VAR=`` in a unit) hands JoPay an empty string.
"""

from __future__ import annotations

from tests.foundation.test_settings_validation import load_settings, loaded

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
