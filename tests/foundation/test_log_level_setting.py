"""LOG_LEVEL is validated at start-up like every other variable (README:
"a bad value stops the process"), and takes a level name in any case."""

from __future__ import annotations

import pytest

from tests.foundation.test_settings_validation import load_settings, refused


@pytest.mark.parametrize("level", ["verbose", "info,debug", "10"])
def test_an_unknown_log_level_is_refused_naming_the_variable(tmp_path, level):
    """README: the environment is validated at start-up. LOG_LEVEL went
    unchecked to Django's logging set-up, which stopped every process with
    "ValueError: Unable to configure root logger" and never named it."""
    refused(load_settings(tmp_path, LOG_LEVEL=level), "LOG_LEVEL must be one of")


@pytest.mark.parametrize(
    ("level", "stored"), [("debug", "DEBUG"), (" Warning ", "WARNING")]
)
def test_a_log_level_in_any_case_configures_logging(tmp_path, level, stored):
    """``LOG_LEVEL=debug`` is what an operator types; it stopped the process."""
    code = (
        "import django, logging; django.setup(); "
        "print(logging.getLevelName(logging.getLogger().level))"
    )
    result = load_settings(
        tmp_path,
        code=code,
        LOG_LEVEL=level,
        DJANGO_SETTINGS_MODULE="jopay_project.settings",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == stored
