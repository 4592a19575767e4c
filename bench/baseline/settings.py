"""JoPay's own settings, with a URLconf that adds ``/bench/insert``.

Nothing else changes: same middleware, database (persistent connections), cache
and DEBUG off, so the only difference between the two measured routes is the
work JoPay does on top of one INSERT.
"""

from jopay_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline.urls"
