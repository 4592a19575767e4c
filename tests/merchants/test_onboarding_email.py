"""The onboarding e-mail (spec §5.1): the merchant's link, once, at least once."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from merchants import emails
from merchants.models import Merchant
from merchants.tasks import send_due_onboarding_emails_task, send_onboarding_email_task
from tests.factories import WALLET
from tests.merchants.conftest import URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def sending(settings):
    settings.JOPAY_ONBOARDING_EMAIL = True


def create(api, **fields) -> dict:
    return api.post(
        URL, {"business_name": "Mia's Bakery", **fields}, format="json"
    ).json()


def test_a_new_merchant_gets_its_link_by_e_mail_once(
    api, client, sending, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        send_onboarding_email_task,
        "apply_async",
        lambda args, **kw: queued.append(args),
    )
    with django_capture_on_commit_callbacks(execute=True):
        body = create(api, email="mia@example.com")
    assert queued == [(body["merchant_id"],)]  # enqueued when the create committed

    assert send_onboarding_email_task(body["merchant_id"]) is True
    assert send_onboarding_email_task(body["merchant_id"]) is False  # run twice
    (message,) = mail.outbox
    assert message.to == ["mia@example.com"]
    assert message.subject == "Alice Pay: finish setting up your payments"
    assert body["onboarding_url"] in message.body  # the link the API shows
    path = body["onboarding_url"].removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    assert Merchant.objects.get(pk=body["merchant_id"]).onboarding_email_sent_at


def test_no_e_mail_without_an_address_with_a_wallet_when_disabled_or_off(
    api, api_test, sending, settings
):
    test_mode = create(api_test, email="t@example.com")  # test data mails no one
    no_email = create(api)
    has_wallet = create(api, email="w@example.com", wallet_address=WALLET)
    disabled = create(api, email="d@example.com")
    api.patch(f"{URL}/{disabled['merchant_id']}", {"disabled": True}, format="json")
    for body in (test_mode, no_email, has_wallet, disabled):
        assert send_onboarding_email_task(body["merchant_id"]) is False
    settings.JOPAY_ONBOARDING_EMAIL = False
    off = create(api, email="o@example.com")
    assert send_onboarding_email_task(off["merchant_id"]) is False
    assert mail.outbox == []


def test_switching_sending_on_does_not_mail_merchants_made_before(api, settings):
    # They were created while it was off: their partner sent the link itself.
    body = create(api, email="early@example.com")
    Merchant.objects.filter(pk=body["merchant_id"]).update(
        created_at=timezone.now() - timedelta(days=6)
    )
    settings.JOPAY_ONBOARDING_EMAIL = True
    assert send_due_onboarding_emails_task() == 0
    assert send_onboarding_email_task(body["merchant_id"]) is False
    assert mail.outbox == []


def test_refused_addresses_are_given_up_and_never_starve_new_merchants(
    api, sending, monkeypatch
):
    bad = [create(api, email=f"bad{n}@example.com") for n in range(3)]
    good = create(api, email="mia@example.com")
    Merchant.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    Merchant.objects.filter(pk=good["merchant_id"]).update(
        created_at=timezone.now() - timedelta(minutes=2)  # the newest
    )
    real = emails.send_mail

    def picky(*args, recipient_list, **kwargs):
        if recipient_list[0].startswith("bad"):
            raise smtplib.SMTPRecipientsRefused(
                {recipient_list[0]: (550, b"5.1.1 no such user")}
            )
        return real(*args, recipient_list=recipient_list, **kwargs)

    monkeypatch.setattr(emails, "send_mail", picky)
    monkeypatch.setattr(emails, "SWEEP_BATCH", 3)  # fewer than the due rows
    for _ in range(emails.EMAIL_MAX_TRIES + 2):
        send_due_onboarding_emails_task()
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]
    tries = Merchant.objects.filter(pk__in=[b["merchant_id"] for b in bad])
    assert set(tries.values_list("onboarding_email_tries", flat=True)) == {
        emails.EMAIL_MAX_TRIES
    }


def test_a_failed_send_is_retried_by_the_sweeper_and_a_week_old_one_is_not(
    api, sending, monkeypatch
):
    body = create(api, email="mia@example.com")
    old = create(api, email="old@example.com")
    Merchant.objects.filter(pk=body["merchant_id"]).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    Merchant.objects.filter(pk=old["merchant_id"]).update(
        created_at=timezone.now() - timedelta(days=8)
    )

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(emails, "send_mail", refused)
    with pytest.raises(ConnectionRefusedError):
        send_onboarding_email_task(body["merchant_id"])
    assert send_due_onboarding_emails_task() == 0  # logged, not raised
    assert Merchant.objects.get(pk=body["merchant_id"]).onboarding_email_sent_at is None

    monkeypatch.undo()
    assert send_due_onboarding_emails_task() == 1
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]
    assert send_due_onboarding_emails_task() == 0


@pytest.mark.parametrize(
    "trouble",
    [
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPRecipientsRefused({"mia@example.com": (451, b"4.7.1 later")}),
        smtplib.SMTPSenderRefused(421, b"4.3.2 shutting down", "noreply@jopay"),
        # Our credentials or our From address: the same for every merchant,
        # so they say nothing about the merchant's address either.
        smtplib.SMTPAuthenticationError(535, b"5.7.8 credentials invalid"),
        smtplib.SMTPSenderRefused(550, b"5.7.1 sender not allowed", "noreply@jopay"),
    ],
    ids=["refused", "disconnected", "451", "421", "535-auth", "550-sender"],
)
def test_relay_trouble_never_uses_up_the_tries(api, sending, monkeypatch, trouble):
    # Counted as the address's fault, half an hour of relay trouble gave up
    # every mail owed meanwhile; the link lives 7 days.
    body = create(api, email="mia@example.com")

    def relay_down(*args, **kwargs):
        raise trouble

    monkeypatch.setattr(emails, "send_mail", relay_down)
    with pytest.raises(type(trouble)):
        send_onboarding_email_task(body["merchant_id"])
    Merchant.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    for _ in range(emails.EMAIL_MAX_TRIES + 2):
        send_due_onboarding_emails_task()
    assert Merchant.objects.get(pk=body["merchant_id"]).onboarding_email_tries == 0
    monkeypatch.undo()
    assert send_due_onboarding_emails_task() == 1
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]


def test_a_partner_name_with_a_line_break_cannot_break_the_subject(
    api, sending, partner
):
    partner.name = "Alice\nBcc: everyone@example.com"
    partner.save(update_fields=["name"])
    body = create(api, email="mia@example.com")
    assert send_onboarding_email_task(body["merchant_id"]) is True
    assert mail.outbox[0].subject.startswith("Alice Bcc: everyone@example.com:")
    assert mail.outbox[0].bcc == []


def test_an_address_corrected_after_it_was_given_up_gets_the_e_mail(
    api, sending, monkeypatch
):
    # The relay refused the typo for good; the partner then fixed the address
    # over the API. The e-mail was never delivered, so the new address gets it.
    body = create(api, email="mia@exmaple.com")
    Merchant.objects.filter(pk=body["merchant_id"]).update(
        onboarding_email_tries=emails.EMAIL_MAX_TRIES,
        created_at=timezone.now() - timedelta(minutes=5),
    )
    assert send_due_onboarding_emails_task() == 0  # given up
    response = api.patch(
        f"{URL}/{body['merchant_id']}", {"email": "mia@example.com"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert send_due_onboarding_emails_task() == 1
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]
    # Unchanged, or once sent, an e-mail is not sent again.
    api.patch(
        f"{URL}/{body['merchant_id']}", {"email": "mia@example.org"}, format="json"
    )
    assert send_due_onboarding_emails_task() == 0
    assert len(mail.outbox) == 1


def test_a_slow_relay_ends_the_sweep_in_budget_and_mails_no_one_twice(
    api, sending, monkeypatch
):
    """A relay taking a minute a mail (TLS, auth, greylisting) made a sweep of a
    backlog run into its 240 s soft limit, raised in the middle of a send: a
    mail the relay had accepted was never stamped, and the next sweep sent it
    again. The sweep starts no send after its budget; the next one carries on."""
    from celery.exceptions import SoftTimeLimitExceeded

    from merchants import tasks

    addresses = [f"m{n}@example.com" for n in range(5)]
    for address in addresses:
        create(api, email=address)
    Merchant.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    clock = {"now": 1000.0, "started": 1000.0}
    real = emails.send_mail

    def slow(*args, **kwargs):
        sent = real(*args, **kwargs)  # accepted by the relay …
        clock["now"] += 60.0  # … which takes a minute to let go
        limit = send_due_onboarding_emails_task.soft_time_limit
        if clock["now"] - clock["started"] > limit:
            raise SoftTimeLimitExceeded()  # what Celery raises in the task
        return sent

    monkeypatch.setattr(emails, "send_mail", slow)
    monkeypatch.setattr(tasks, "monotonic", lambda: clock["now"], raising=False)
    sent = []
    for _ in range(3):  # each sweep returns: no time limit hit
        sent.append(send_due_onboarding_emails_task())
        clock["started"] = clock["now"]  # the next sweep, 5 minutes later
    assert sent == [2, 2, 1]
    assert sorted(m.to[0] for m in mail.outbox) == addresses  # each once


def test_an_address_corrected_while_the_e_mail_is_on_its_way_gets_it_too(
    api, sending, monkeypatch
):
    """The partner spots a typo and PATCHes the address a second after the
    create, while the create's e-mail is with the relay. The docs promise a
    corrected address the link "until it was sent"; the stamp written after
    the send marked the new address as mailed too, so it never got the link."""
    body = create(api, email="mia@exmaple.com")  # the typo
    real = emails.send_mail

    def patched_meanwhile(*args, **kwargs):
        sent = real(*args, **kwargs)
        response = api.patch(
            f"{URL}/{body['merchant_id']}", {"email": "mia@example.com"}, format="json"
        )
        assert response.status_code == 200, response.content
        return sent

    monkeypatch.setattr(emails, "send_mail", patched_meanwhile)
    assert send_onboarding_email_task(body["merchant_id"]) is True
    monkeypatch.undo()
    Merchant.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert send_due_onboarding_emails_task() == 1
    assert [m.to for m in mail.outbox] == [["mia@exmaple.com"], ["mia@example.com"]]
    assert send_due_onboarding_emails_task() == 0  # then once only


def test_a_send_at_the_relays_slowest_finishes_before_the_tasks_soft_limit():
    """Each SMTP step may wait EMAIL_TIMEOUT; a soft limit of 30 s cut a slow
    send after the relay accepted it and before it was stamped, so the sweep
    mailed the merchant again. The sweep's own budget leaves a send as long."""
    from django.conf import settings

    from merchants.tasks import SMTP_STEPS, SWEEP_BUDGET_SECONDS

    slowest_send = SMTP_STEPS * settings.EMAIL_TIMEOUT
    assert send_onboarding_email_task.soft_time_limit > slowest_send
    assert (
        send_onboarding_email_task.time_limit
        > send_onboarding_email_task.soft_time_limit
    )
    sweep = send_due_onboarding_emails_task.soft_time_limit
    assert sweep - SWEEP_BUDGET_SECONDS > slowest_send


def test_stored_bidi_overrides_are_not_mailed(api, sending, partner):
    # D22: names stored before bidi controls were refused are shown without
    # them (pay page, onboarding page); the e-mail printed them, turning the
    # text after the name around in the subject, the greeting and the link's
    # own lines.
    body = create(api, email="mia@example.com")
    Merchant.objects.filter(pk=body["merchant_id"]).update(
        business_name="Mia\u202egnp.exe"
    )
    type(partner).objects.filter(pk=partner.pk).update(name="Alice\u2067 Pay")
    assert send_onboarding_email_task(body["merchant_id"]) is True
    (message,) = mail.outbox
    assert message.subject == "Alice Pay: finish setting up your payments"
    assert "Hello Miagnp.exe," in message.body
    assert "JoPay, on behalf of Alice Pay" in message.body
    for text in (message.subject, message.body):
        assert "\u202e" not in text
        assert "\u2067" not in text


def test_a_merchant_with_only_a_display_name_is_greeted_by_it(api, sending):
    body = api.post(
        URL, {"display_name": "Corner Shop", "email": "shop@example.com"}, format="json"
    ).json()
    assert send_onboarding_email_task(body["merchant_id"]) is True
    (message,) = mail.outbox
    assert message.body.startswith("Hello Corner Shop,")
