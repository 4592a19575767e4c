"""OPERATIONS.md: "The processes log to the console under the loggers
``jopay.*``, ``celery`` and ``django``". Every module-level logger of JoPay's
own code must therefore be named ``jopay.…``: the rate-limit outage line
(``rate-limit counters unreachable …``, the one a Redis outage logs on every
web node) was logged as ``jopay_project.ratelimits``, so an operator who
filtered or alerted on ``jopay.`` never saw it."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("jopay_project", "merchants", "payments", "webhooks", "recurring")
SKIP = ("migrations", "test_settings", "wsgi")


def _modules():
    for package in PACKAGES:
        yield package
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if not any(part in SKIP for part in info.name.split(".")):
                yield info.name


@pytest.mark.parametrize("name", ["jopay_project.ratelimits", "jopay_project.celery"])
def test_the_named_modules_log_under_jopay(name):
    logger = importlib.import_module(name).logger
    assert logger.name.startswith("jopay."), logger.name


def test_every_module_logger_is_under_jopay():
    wrong = {}
    for name in _modules():
        for attr, value in vars(importlib.import_module(name)).items():
            if not isinstance(value, logging.Logger):
                continue
            # A library's logger imported by name (celery's, django's) is not ours.
            root = value.name.split(".")[0]
            ours = root in PACKAGES or root.startswith("jopay")
            if ours and not value.name.startswith("jopay."):
                wrong[f"{name}.{attr}"] = value.name
    assert wrong == {}
