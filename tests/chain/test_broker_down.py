"""A broker outage never fails a committed caller (the proof paths, like the outbox).

``delay_on_commit`` published after the commit and raised: a customer's proof
POST answered 500 although the proof was saved, and the watcher stopped its
scan. Now the publish is robust; the re-check beat (``next_verify_at``) finds
the proof anyway. The broker's failure is the one thing simulated here: its
publish raises the error kombu raises when Redis is unreachable.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError

from payments.proofs import tasks
from payments.proofs.tasks import recheck_attached_proofs

from .conftest import CHAIN_ID

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

HASH = "0x" + "5e" * 32


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(tasks.verify_proof_task, "apply_async", refuse)


def test_a_proof_post_is_202_and_kept_while_the_broker_is_down(
    client, local_chain, make_request, broker_down, caplog, monkeypatch
):
    pr = make_request(usdc_micro=4_400_021)
    with caplog.at_level(logging.ERROR, logger="jopay.tasks"):
        response = client.post(
            f"/pay/{pr.pk}/proof",
            {"tx_hash": HASH, "chain_id": CHAIN_ID},
            content_type="application/json",
        )
    assert response.status_code == 202, response.content
    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash) == ("attached", HASH)
    assert any("broker unavailable" in r.getMessage() for r in caplog.records)
    # The beat's re-check is the safety net: the proof is due for it.
    monkeypatch.setattr(tasks.verify_proof_task, "apply_async", lambda *a, **k: None)
    later = pr.next_verify_at + tasks.RECHECK_SLACK + timedelta(seconds=1)
    assert recheck_attached_proofs(now=later) == [str(pr.pk)]
