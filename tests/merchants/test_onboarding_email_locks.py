"""The onboarding e-mail is sent holding no lock on the merchant's row.

A relay can take its time (``EMAIL_TIMEOUT`` per SMTP step, the task's 45 s
limit). Sent under the row lock, that long every write of the merchant waited:
the partner's PATCH, the merchant finishing onboarding through the link the
partner had shown, the admin. Two sends at once still send one e-mail, and a
send that failed leaves nothing held. Real threads and committed rows; the
relay is made slow by holding ``send_mail`` until the test lets it go.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail

from merchants import emails
from merchants.models import Merchant
from merchants.onboarding_complete import merchant_onboarding_complete
from merchants.onboarding_links import issue_link_fields, merchant_onboarding_link
from merchants.services import merchant_update
from tests.factories import MerchantFactory
from tests.locks import db_thread, waiting_on_a_lock

pytestmark = pytest.mark.django_db(transaction=True)

WALLET = "0x" + "5a" * 20


@pytest.fixture
def owed(partner, settings) -> Merchant:
    """A live merchant made without a wallet whose e-mail is owed (as the create)."""
    settings.JOPAY_ONBOARDING_EMAIL = True
    merchant = MerchantFactory(
        partner=partner,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
        onboarding_email_due=True,
        email="mia@example.com",
    )
    issue_link_fields(merchant, merchant.created_at)
    merchant.save()
    return merchant


@pytest.fixture
def slow_relay(monkeypatch):
    """``send_mail`` that waits for ``release`` once it has been entered."""
    entered, release = threading.Event(), threading.Event()
    real = emails.send_mail

    def send_mail(**kwargs):
        entered.set()
        assert release.wait(20)
        return real(**kwargs)

    monkeypatch.setattr(emails, "send_mail", send_mail)
    yield entered, release
    release.set()


def _runs_while_sending(slow_relay, owed, write):
    """Run ``write`` while a send of ``owed``'s e-mail is under way.

    Returns ``(write's result, whether it waited on a lock, the send's result)``.
    """
    entered, release = slow_relay
    results: dict[str, object] = {}
    pids: dict[str, int] = {}
    sender = db_thread(
        "send", lambda: emails.onboarding_email_send(merchant_id=owed.pk), results, pids
    )
    sender.start()
    try:
        assert entered.wait(10), results
        writer = db_thread("write", write, results, pids)
        writer.start()
        blocked = False
        deadline = time.monotonic() + 5
        while writer.is_alive() and time.monotonic() < deadline:
            if "write" in pids and waiting_on_a_lock(pids["write"]):
                blocked = True
                break
            time.sleep(0.01)
    finally:
        release.set()
    sender.join(20)
    writer.join(20)
    return results.get("write"), blocked, results.get("send")


def test_a_patch_during_a_slow_send_does_not_wait_for_the_relay(slow_relay, owed):
    def patch():
        merchant = Merchant.objects.get(pk=owed.pk)
        return merchant_update(merchant=merchant, changes={"display_name": "Mia"})

    written, blocked, sent = _runs_while_sending(slow_relay, owed, patch)
    assert not blocked, "the PATCH waited on the merchant row for the relay"
    assert isinstance(written, Merchant), written
    assert sent is True
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]
    owed.refresh_from_db()
    assert owed.display_name == "Mia"
    assert owed.onboarding_email_sent_at is not None


def test_onboarding_finished_during_a_slow_send_does_not_wait(slow_relay, owed):
    link = merchant_onboarding_link(merchant=owed)
    token = link.url.rstrip("/").rsplit("/", 1)[1]

    def complete():
        return merchant_onboarding_complete(
            token=token, wallet_address=WALLET, terms_accepted=True
        ).onboarding_status

    written, blocked, sent = _runs_while_sending(slow_relay, owed, complete)
    assert not blocked, "the onboarding page waited on the merchant row for the relay"
    assert written == Merchant.OnboardingStatus.COMPLETE
    assert sent is True  # it was on its way already
    owed.refresh_from_db()
    assert owed.wallet_address == WALLET
    assert owed.onboarding_email_sent_at is not None


def test_two_sends_at_once_send_one_e_mail_and_the_second_does_not_wait(
    slow_relay, owed
):
    def second():
        return emails.onboarding_email_send(merchant_id=owed.pk)

    again, blocked, sent = _runs_while_sending(slow_relay, owed, second)
    assert (again, blocked, sent) == (False, False, True)
    assert emails.onboarding_email_send(merchant_id=owed.pk) is False  # sent
    assert len(mail.outbox) == 1


def test_a_failed_send_leaves_nothing_held_for_the_next_worker(owed, monkeypatch):
    def relay_down(**kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(emails, "send_mail", relay_down)
    with pytest.raises(ConnectionRefusedError):
        emails.onboarding_email_send(merchant_id=owed.pk)
    monkeypatch.undo()
    results: dict[str, object] = {}
    retry = db_thread(
        "retry", lambda: emails.onboarding_email_send(merchant_id=owed.pk), results, {}
    )
    retry.start()
    retry.join(20)
    assert results == {"retry": True}
    assert len(mail.outbox) == 1
