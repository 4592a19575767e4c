"""Staff admin for payments: read-only money, actions through the services, FX
pins and feed refresh, chains through ``chain_configure`` (STYLE.md "Admin is for
support"; D14, D18, D19, D20, D31)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages

from jopay_project.admin_actions import CONFIRM_FIELD, CONFIRM_VALUE
from jopay_project.errors import ErrorCode, JoPayError
from payments.models import Chain, FxRate
from tests.portal.conftest import make_request, make_verified
from tests.portal.test_admin_audit_trail import drawn
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/paymentrequest/"
TX = "0x" + "cd" * 32


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def run_action(client, url, action, ids):
    """The action as its confirmation page's Confirm button posts it
    (``confirm_first``; actions without that page ignore the flag)."""
    return client.post(
        url,
        {
            "action": action,
            "_selected_action": [str(i) for i in ids],
            CONFIRM_FIELD: CONFIRM_VALUE,
        },
        follow=True,
    )


# --- payment requests ----------------------------------------------------------------


def test_changelist_and_change_page_render(admin_client, merchant):
    pr = make_request(merchant, fiat_int=1999)
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"19.99 EUR" in page.content
    detail = admin_client.get(f"{CHANGELIST}{pr.pk}/change/")
    assert detail.status_code == 200
    # Money is read-only: no input for any amount field.
    for field in (b'name="fiat_int"', b'name="usdc_micro"', b'name="status"'):
        assert field not in detail.content


def test_the_list_reads_no_whole_table_and_filters_by_chain_and_date(
    admin_client, merchant
):
    # At 1 M rows a page took 1.3 s: date_hierarchy's and the chain filter's
    # SELECT DISTINCT over the table, and a sort of every row for lack of an
    # index in the list's order (now ``request_recent``).
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    Chain.objects.get_or_create(chain_id=137, defaults={"name": "Polygon"})
    on_polygon = make_request(merchant, chain_id=137, reference="POLY01")
    old = make_request(
        merchant, reference="OLD001", created_at=timezone.now() - timedelta(days=60)
    )
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    assert not [q for q in queries if "DISTINCT" in q["sql"]]
    by_chain = admin_client.get(CHANGELIST, {"chain_id": "137"}).content.decode()
    assert on_polygon.reference in by_chain
    assert old.reference not in by_chain
    assert admin_client.get(CHANGELIST, {"chain_id": "x"}).status_code == 200
    since = (timezone.now() - timedelta(days=7)).isoformat()  # "Past 7 days"
    recent = admin_client.get(CHANGELIST, {"created_at__gte": since}).content.decode()
    assert on_polygon.reference in recent
    assert old.reference not in recent
    indexes = connection.introspection.get_constraints(
        connection.cursor(), "payments_paymentrequest"
    )
    assert any(
        i["index"]
        and i["columns"] == ["created_at", "id"]
        and i["orders"] == ["DESC", "DESC"]
        for i in indexes.values()
    )


def test_requests_cannot_be_added_or_deleted(admin_client, merchant):
    pr = make_request(merchant)
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}{pr.pk}/delete/").status_code == 403


def test_a_change_post_cannot_alter_money(admin_client, merchant):
    pr = make_request(merchant, fiat_int=1000)
    admin_client.post(
        f"{CHANGELIST}{pr.pk}/change/", {"fiat_int": "1", "status": "paid"}
    )
    pr.refresh_from_db()
    assert (pr.fiat_int, pr.status) == (1000, "requested")


def test_change_page_shows_the_amounts_in_their_units(admin_client, merchant):
    # The page showed only the stored integers ("Fiat int: 2500", "Usdc
    # micro: 27500123"), which support read as 2500 EUR; the list already
    # wrote "25.00 EUR".
    pr = make_request(merchant, fiat_int=2500, usdc_micro=27_500_123)
    yen = make_request(merchant, fiat_int=1500, fiat_code="JPY")
    page = admin_client.get(f"{CHANGELIST}{pr.pk}/change/").content.decode()
    assert f"<title>{pr.reference} 25.00 EUR |" in page  # and every str(pr)
    assert "25.00 EUR" in page.split("Money (read-only)")[1]
    assert "27.500123 USDC" in page
    assert (
        "1,500 JPY"
        in admin_client.get(f"{CHANGELIST}{yen.pk}/change/").content.decode()
    )
    # A row in no supported currency keeps its integer: never a 500.
    odd = make_request(merchant, fiat_int=7, fiat_code="XXX")
    assert str(odd).endswith(" 7 XXX")
    assert admin_client.get(f"{CHANGELIST}{odd.pk}/change/").status_code == 200
    assert admin_client.get(CHANGELIST).status_code == 200


def test_cancel_action_uses_the_service(admin_client, merchant):
    open_pr = make_request(merchant)
    paid = make_verified(merchant)
    response = run_action(admin_client, CHANGELIST, "cancel", [open_pr.pk, paid.pk])
    open_pr.refresh_from_db()
    paid.refresh_from_db()
    assert open_pr.status == "cancelled"
    assert paid.status == "paid"
    assert (
        WebhookEvent.objects.filter(
            request_id=open_pr.pk, type="request.cancelled"
        ).count()
        == 1
    )
    assert any("request_not_cancellable" in t for t in texts(response))


def test_reverify_action_reports_rpc_trouble_and_keeps_the_proof(
    admin_client, test_merchant, chain
):
    from payments.proofs.services import proof_attach

    pr = make_request(test_merchant)
    proof_attach(request=pr, chain_id=chain.chain_id, tx_hash=TX, source="admin")
    nothing = make_request(test_merchant)
    response = run_action(admin_client, CHANGELIST, "reverify", [pr.pk, nothing.pk])
    messages = texts(response)
    assert any("rpc_unavailable" in t for t in messages)
    assert any("no proof to check" in t for t in messages)
    pr.refresh_from_db()
    assert pr.proof_status == "attached"


def test_reverify_action_does_not_claim_to_check_a_cancelled_requests_proof(
    admin_client, test_merchant, chain
):
    # Cancelled is final (D18): proof_reverify hands the row back unchecked.
    # The action said "proof is mismatch." and logged "Re-verified the
    # proof: mismatch", as if the chain had been asked again.
    pr = make_request(
        test_merchant,
        status="cancelled",
        proof_status="mismatch",
        mismatch_reason="underpaid",
        chain_id=chain.chain_id,
        tx_hash=TX,
    )
    messages = texts(run_action(admin_client, CHANGELIST, "reverify", [pr.pk]))
    assert messages == [f"{pr.reference}: cancelled; its proof is not checked again."]
    assert not LogEntry.objects.filter(object_id=str(pr.pk)).exists()


def test_reverify_action_shares_one_budget_under_the_worker_timeout(
    admin_client, test_merchant, chain, monkeypatch
):
    """Each check may wait 10 s on a hung node; five selected used to take
    50 s, past gunicorn's 30 s worker timeout (a killed worker, a 502)."""
    from payments.admin import requests as admin_requests
    from payments.admin import reverify as admin_reverify
    from payments.proofs.services import proof_attach

    clock = [1000.0]
    budgets = []

    def hung_node(*, request, budget):
        budgets.append(budget)
        clock[0] += budget  # waits its whole budget, then gives up
        raise JoPayError(ErrorCode.RPC_UNAVAILABLE)

    monkeypatch.setattr(admin_reverify.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(admin_requests, "proof_reverify", hung_node)
    selected = []
    for n in range(5):
        pr = make_request(test_merchant)
        proof_attach(
            request=pr, chain_id=chain.chain_id, tx_hash=f"0x{n:064x}", source="admin"
        )
        selected.append(pr.pk)

    messages = texts(run_action(admin_client, CHANGELIST, "reverify", selected))

    assert budgets == [10.0, 10.0]  # 20 s in all
    assert sum("rpc_unavailable" in t for t in messages) == 2
    assert sum("time is used up" in t for t in messages) == 3


# --- FX rates -------------------------------------------------------------------------

FX = "/admin/payments/fxrate/"


def test_admin_rate_is_a_pinned_manual_rate(admin_client, partner):
    response = admin_client.post(
        f"{FX}add/", {"currency": "EUR", "rate": "0.915", "partner": ""}
    )
    assert response.status_code == 302
    rate = FxRate.objects.get(currency="EUR", partner=None)
    assert rate.rate == Decimal("0.915")
    assert (rate.source, rate.pinned) == ("manual", True)

    # Entering the same currency again updates the one row (no duplicate).
    admin_client.post(f"{FX}add/", {"currency": "EUR", "rate": "0.93", "partner": ""})
    assert FxRate.objects.filter(currency="EUR", partner=None).count() == 1
    assert FxRate.objects.get(currency="EUR", partner=None).rate == Decimal("0.93")

    # A partner override is its own row.
    admin_client.post(
        f"{FX}add/", {"currency": "EUR", "rate": "0.9", "partner": str(partner.pk)}
    )
    assert FxRate.objects.get(currency="EUR", partner=partner).pinned is True


def test_an_admin_rate_far_from_the_global_one_needs_a_tick(admin_client):
    admin_client.post(f"{FX}add/", {"currency": "JPY", "rate": "150", "partner": ""})
    # 0.0067 is EUR per JPY-ish nonsense for JPY per USDC: ¥2,500 → 373k USDC.
    far = {"currency": "JPY", "rate": "0.0067", "partner": ""}
    response = admin_client.post(f"{FX}add/", far)
    assert response.status_code == 200
    assert "away from the current global JPY rate" in str(
        response.context["adminform"].form.errors["rate"]
    )
    assert FxRate.objects.get(currency="JPY").rate == Decimal("150")
    assert admin_client.post(f"{FX}add/", {**far, "confirm": "on"}).status_code == 302
    assert FxRate.objects.get(currency="JPY").rate == Decimal("0.0067")


def test_save_without_a_new_rate_leaves_a_feed_rate_unpinned(admin_client):
    # Save pressed on a feed rate pinned it as a manual rate: frozen, never
    # overwritten by the feeds and never stale (D14).
    row = FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="feed:test", pinned=False
    )
    url = f"{FX}{row.pk}/change/"
    response = admin_client.post(
        url, {"rate": "0.920000000000000000", "loaded_as": drawn(admin_client, url)}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.rate, row.source, row.pinned) == (Decimal("0.92"), "feed:test", False)
    admin_client.post(url, {"rate": "0.93", "loaded_as": drawn(admin_client, url)})
    row.refresh_from_db()
    assert (row.rate, row.source, row.pinned) == (Decimal("0.93"), "manual", True)


def test_a_page_drawn_before_a_feed_refresh_does_not_pin_the_old_rate(admin_client):
    """Save pressed (nothing typed) on a feed rate's page opened before the
    next refresh (every 30 min, D36) posted the old rate, which then read as
    a new one: it was pinned as a manual rate, frozen at a stale value that
    the feeds never overwrite and that never goes stale (D14, D31)."""
    from django.utils import timezone

    from tests.portal.test_admin_audit_trail import form_data

    row = FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="feed:test", pinned=False
    )
    page = form_data(admin_client.get(f"{FX}{row.pk}/change/"))
    FxRate.objects.filter(pk=row.pk).update(  # the beat's refresh, meanwhile
        rate=Decimal("0.93"), fetched_at=timezone.now()
    )

    response = admin_client.post(f"{FX}{row.pk}/change/", page)

    assert response.status_code == 200  # the form again, saying why
    assert "changed elsewhere" in response.content.decode()
    row.refresh_from_db()
    assert (row.rate, row.source, row.pinned) == (Decimal("0.93"), "feed:test", False)
    fresh = form_data(admin_client.get(f"{FX}{row.pk}/change/"))
    response = admin_client.post(f"{FX}{row.pk}/change/", {**fresh, "rate": "0.94"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.rate, row.source, row.pinned) == (Decimal("0.94"), "manual", True)


@pytest.mark.parametrize("rate", ["0", "-1", "abc", "0.0009", "1000000000"])
def test_bad_rates_are_refused(admin_client, rate):
    response = admin_client.post(f"{FX}add/", {"currency": "EUR", "rate": rate})
    assert response.status_code == 200  # the form again, with errors
    assert response.context["adminform"].form.errors["rate"]
    assert not FxRate.objects.exists()


def test_clear_manual_action(admin_client):
    admin_client.post(f"{FX}add/", {"currency": "USD", "rate": "1"})
    row = FxRate.objects.get(currency="USD")
    run_action(admin_client, FX, "clear_manual", [row.pk])
    row.refresh_from_db()
    assert row.pinned is False


@pytest.fixture
def feed_server():
    body = json.dumps(
        {"base": "USD", "rates": {"USD": 1, "EUR": 0.9, "JPY": 151.5}}
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/latest.json":
                self.send_response(503)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_refresh_button_fetches_the_feed_and_leaves_pins(
    admin_client, settings, feed_server
):
    settings.JOPAY_FX_FEEDS = [f"{feed_server}/latest.json"]
    admin_client.post(f"{FX}add/", {"currency": "JPY", "rate": "140"})
    response = admin_client.post(f"{FX}refresh/", follow=True)
    assert response.redirect_chain[-1][0] == FX
    assert FxRate.objects.get(currency="EUR", partner=None).rate == Decimal("0.9")
    assert FxRate.objects.get(currency="JPY", partner=None).rate == Decimal(
        "140"
    )  # pinned
    assert any("pinned left alone" in t for t in texts(response))


def test_refresh_action_with_every_feed_down_keeps_the_rates(
    admin_client, settings, feed_server
):
    admin_client.post(f"{FX}add/", {"currency": "EUR", "rate": "0.95"})
    row = FxRate.objects.get(currency="EUR")
    settings.JOPAY_FX_FEEDS = [f"{feed_server}/down.json"]
    settings.JOPAY_FX_TIMEOUT_SECONDS = 1
    response = run_action(admin_client, FX, "refresh_from_feeds", [row.pk])
    assert any("Every feed failed" in t for t in texts(response))
    assert FxRate.objects.count() == 1
    assert FxRate.objects.get().rate == Decimal("0.95")


def test_refresh_needs_post(admin_client):
    response = admin_client.get(f"{FX}refresh/")
    assert response.status_code == 302
    assert not FxRate.objects.exists()


# --- chains ---------------------------------------------------------------------------

CHAINS = "/admin/payments/chain/"


@pytest.mark.django_db(transaction=True)
def test_chain_add_goes_through_chain_configure(admin_client):
    # Transactional: the admin's own transaction commits, so its on-commit RPC
    # probe runs (and reports that no RPC answered).
    response = admin_client.post(
        f"{CHAINS}add/",
        {
            "chain_id": "31337",
            "name": "Anvil",
            "usdc_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            "decimals": "6",
            "confirmations": "1",
            "kind": "local",
            "rpc_urls_text": "http://127.0.0.1:1\nhttp://127.0.0.1:2",
        },
        follow=True,
    )
    chain = Chain.objects.get(pk=31337)
    assert chain.is_local
    assert not chain.is_testnet
    assert chain.rpc_urls == ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    assert chain.usdc_address == "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # EIP-55
    assert any("no RPC answered" in t for t in texts(response))


def test_chain_form_refuses_bad_input(admin_client):
    response = admin_client.post(
        f"{CHAINS}add/",
        {
            "chain_id": "5",
            "name": "Bad",
            "usdc_address": "0x1234",
            "decimals": "6",
            "confirmations": "1",
            "kind": "mainnet",
            "rpc_urls_text": "ftp://nope",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"usdc_address", "rpc_urls_text"}
    assert not Chain.objects.filter(pk=5).exists()


def test_chain_change_refused_by_configure_chain_shows_on_the_form(admin_client, chain):
    # decimals 5 (D15: no room for the tag) passed the form, then save_model
    # refused it quietly: "changed successfully" and a change in the log.
    before = LogEntry.objects.count()
    url = f"{CHAINS}{chain.pk}/change/"
    response = admin_client.post(
        url,
        {
            "loaded_as": drawn(admin_client, url),
            "name": "Local",
            "usdc_address": chain.usdc_address,
            "decimals": "5",
            "confirmations": "1",
            "kind": "local",
            "rpc_urls_text": "http://127.0.0.1:1",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("decimals" in e for e in errors)
    chain.refresh_from_db()
    assert chain.decimals == 6
    assert LogEntry.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_the_rpc_probe_runs_after_the_admin_commits(admin_client, monkeypatch):
    from django.db import connection

    from payments.admin import chains

    seen = []

    def probe(chain, **kwargs):
        seen.append(connection.in_atomic_block)
        return chains_probe(chain, **kwargs)

    chains_probe = chains.chain_cursor_probe
    monkeypatch.setattr(chains, "chain_cursor_probe", probe)
    admin_client.post(
        f"{CHAINS}add/",
        {
            "chain_id": "31338",
            "name": "Anvil 2",
            "usdc_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            "decimals": "6",
            "confirmations": "1",
            "kind": "local",
            "rpc_urls_text": "http://127.0.0.1:1",
        },
    )
    # No row lock held while operator-given RPC URLs answer (5 s each).
    assert seen == [False]


def test_chain_list_and_disable_action(admin_client, chain):
    assert admin_client.get(CHAINS).status_code == 200
    run_action(admin_client, CHAINS, "disable", [chain.pk])
    chain.refresh_from_db()
    assert chain.enabled is False


def test_the_partner_form_says_its_limits_are_minor_units(admin_client, partner):
    page = admin_client.get(f"/admin/merchants/partner/{partner.pk}/change/")
    assert "MINOR units of the default currency" in page.content.decode()


@pytest.mark.parametrize(
    ("chain_id", "kind", "confirmations"),
    [(990001, "testnet", 2), (990002, "local", 1), (990003, "mainnet", 12)],
)
def test_a_chain_added_in_the_admin_gets_the_d36_confirmations_of_its_kind(
    admin_client, chain_id, kind, confirmations
):
    # D36: default confirmations, testnets 2, local 1. The add form came
    # pre-filled with the model's 12 (and refused a blank), so a testnet or a
    # dev node added in the admin as drawn waited for 12 blocks, not 2 or 1,
    # unlike the same chain added with configure_chain.
    form = admin_client.get(f"{CHAINS}add/").context["adminform"].form
    assert form["confirmations"].value() in (None, "")
    response = admin_client.post(
        f"{CHAINS}add/",
        {
            "chain_id": str(chain_id),
            "name": f"New {kind}",
            "usdc_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            "decimals": "6",
            "confirmations": "",
            "kind": kind,
            "rpc_urls_text": "http://127.0.0.1:1",
        },
    )
    assert response.status_code == 302
    assert Chain.objects.get(pk=chain_id).confirmations == confirmations
