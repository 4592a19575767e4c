"""On-chain executors: the one switch between "not yet" and "on" (D29, spec §10–11).

Pull-collected recurring plans and merchant auto-forward both need an audited
ERC-7715 executor contract per chain. Until an operator configures one, the
API refuses them (``recurring_requires_embedded_wallet``,
``auto_forward_requires_embedded_wallet``). Enabling them later is
configuration, not code: set ``JOPAY_RECURRING_EXECUTORS`` /
``JOPAY_AUTO_FORWARD_EXECUTORS`` to ``<chain_id>=<executor address>,…`` and
restart. ``docs/design/executors.md`` describes the call path that then runs.
"""

from __future__ import annotations

from django.conf import settings


def recurring_executor(chain_id: int | None) -> str | None:
    """The pull executor for ``chain_id``, or None when pull is not available there."""
    if chain_id is None:
        return None
    return settings.JOPAY_RECURRING_EXECUTORS.get(chain_id)


def auto_forward_executor(chain_id: int) -> str | None:
    """The auto-forward executor for ``chain_id``, or None."""
    return settings.JOPAY_AUTO_FORWARD_EXECUTORS.get(chain_id)


def recurring_pull_enabled() -> bool:
    return bool(settings.JOPAY_RECURRING_EXECUTORS)


def auto_forward_enabled() -> bool:
    """True once any chain has an audited auto-forward executor configured."""
    return bool(settings.JOPAY_AUTO_FORWARD_EXECUTORS)
