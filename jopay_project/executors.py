"""On-chain executors: the switch between "not yet" and "accepted" (D29, spec §10–11).

Pull-collected recurring plans and merchant auto-forward both need an audited
ERC-7715 executor contract per chain. Until an operator configures one, the
API refuses them (``recurring_requires_embedded_wallet``,
``auto_forward_requires_embedded_wallet``). Configuring
``JOPAY_RECURRING_EXECUTORS`` / ``JOPAY_AUTO_FORWARD_EXECUTORS``
(``<chain_id>=<executor address>,…``) only makes them accepted: nothing is
pulled or forwarded yet (every charge is an invoice, D29), so operators must
leave both unset. ``docs/design/executors.md`` lists the work still missing.
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
