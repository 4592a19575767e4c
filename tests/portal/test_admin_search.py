"""Admin search by exact identifier: every search is served by an index.

``reference`` (icontains), ``=id`` (``UPPER(id::text)``) and a partner join,
OR-ed for every term, read the whole table: an exact reference took 3 s at
1 M requests. The term's shape now picks one indexed column
(``jopay_project.admin_search``). The index tests read the plan PostgreSQL
picks with sequential scans priced out: an index that fits is then always
taken, and a search no index can serve is a scan of a whole table or of a
whole index, with the search as a mere filter (no index condition).
"""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.db import connection
from eth_utils import to_checksum_address

from payments.models import Chain, PaymentRequest
from tests.portal.conftest import make_request, make_verified

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/paymentrequest/"
TX = "0x" + "ab" * 32
OTHER_TX = "0x" + "ef" * 32
ADDRESS = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"


def found(client, term: str) -> set[str]:
    page = client.get(CHANGELIST, {"q": term})
    assert page.status_code == 200
    return {pr.reference for pr in page.context["cl"].result_list}


def search_plan(rf, admin_user, model, term: str) -> dict:
    """EXPLAIN of the admin's search for ``term``, sequential scans priced out."""
    request = rf.get("/admin/", {"q": term})
    request.user = admin_user
    queryset, _ = admin.site._registry[model].get_search_results(
        request, model.objects.all(), term
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction
    return json.loads(queryset.order_by().explain(format="json"))[0]["Plan"]


def unindexed_scans(plan: dict, table: str) -> list[str]:
    """The plan's reads of ``table`` that no index condition narrows."""
    bad = []
    if plan.get("Relation Name") == table or (plan["Node Type"] == "Bitmap Index Scan"):
        kind = plan["Node Type"]
        if kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan"):
            if "Index Cond" not in plan:
                bad.append(f"{kind} on {plan.get('Index Name')} without a condition")
        elif kind != "Bitmap Heap Scan":
            bad.append(kind)
    for child in plan.get("Plans", ()):
        bad += unindexed_scans(child, table)
    return bad


def assert_indexed(plan: dict, table: str) -> None:
    assert unindexed_scans(plan, table) == [], json.dumps(plan, indent=1)


def index_names(plan: dict) -> set[str]:
    """Every index the plan reads."""
    names = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", ()):
        names |= index_names(child)
    return names


@pytest.fixture
def rows(merchant, other_partner):
    from tests.factories import MerchantFactory

    # Seeded in production (D19); proofs are only ever attached on a chain
    # in the registry, and chains are never deleted.
    Chain.objects.get_or_create(chain_id=84532, defaults={"name": "Base Sepolia"})
    bob_shop = MerchantFactory(partner=other_partner)
    return {
        "plain": make_request(merchant, reference="ABC234"),
        "paid": make_verified(merchant, reference="PAID22", tx_hash=TX),
        "mismatch": make_request(
            merchant,
            reference="MISS22",
            proof_status="mismatch",
            chain_id=84532,
            tx_hash=OTHER_TX,
        ),
        "elsewhere": make_request(
            merchant, reference="ADDR22", receiving_address=to_checksum_address(ADDRESS)
        ),
        "bob": make_request(bob_shop, reference="BOBS22"),
    }


def test_each_identifier_shape_finds_its_request(admin_client, rows):
    assert found(admin_client, str(rows["plain"].pk)) == {"ABC234"}
    assert found(admin_client, str(rows["plain"].pk).upper()) == {"ABC234"}
    assert found(admin_client, "abc234") == {"ABC234"}  # references are upper-case
    assert found(admin_client, TX.upper().replace("0X", "0x")) == {"PAID22"}
    assert found(admin_client, OTHER_TX) == {"MISS22"}  # a mismatched proof too
    assert found(admin_client, ADDRESS) == {"ADDR22"}  # stored EIP-55
    assert found(admin_client, "bob-pay") == {"BOBS22"}
    assert found(admin_client, "ABC234 BOBS22") == {"ABC234", "BOBS22"}


@pytest.mark.parametrize(
    "term",
    [
        "123e4567-e89b-12d3-a456-42661417400",  # one digit short
        "123e4567-e89b-12d3-a456-4266141740zz",
        "{not-a-uuid}",
        "0x1234",
        "'; DROP TABLE payments_paymentrequest; --",
        "ABC",  # a reference no request has
        "nobody-pay",
        "%",
    ],
)
def test_a_term_of_no_known_shape_finds_nothing_and_never_fails(
    admin_client, rows, term
):
    assert found(admin_client, term) == set()


@pytest.mark.parametrize(
    "term",
    [
        "ABC234",
        "abc234",
        "alice-pay",
        TX,
        ADDRESS,
        "9b2f8c3e-51a4-4a8e-9d3c-0e6f7a1b2c3d",
        "paypal",  # fits a slug and a reference: both indexed
        "ABC234 alice-pay 0x" + "cd" * 32,
    ],
)
def test_every_search_is_served_by_an_index(rf, admin_user, rows, term):
    plan = search_plan(rf, admin_user, PaymentRequest, term)

    assert_indexed(plan, "payments_paymentrequest")


def test_the_search_box_says_what_it_matches(admin_client):
    page = admin_client.get(CHANGELIST).content.decode()

    assert "Exact match only: a request id, a reference" in page


def test_a_tx_hash_search_reads_only_the_tx_hash_index(rf, admin_user, rows):
    # It went through (chain_id, tx_hash) for each configured chain, and
    # proof_status for mismatches: two indexes, a chains query first, and a
    # proof on a chain missing from the registry was never found.
    plan = search_plan(rf, admin_user, PaymentRequest, TX)

    assert index_names(plan) == {"request_tx_hash"}, json.dumps(plan, indent=1)
    assert_indexed(plan, "payments_paymentrequest")


def test_a_tx_hash_is_found_whatever_its_chain_or_proof_state(admin_client, merchant):
    make_request(merchant, reference="GONE22", chain_id=999_999, tx_hash=TX)

    assert found(admin_client, TX) == {"GONE22"}


# --- the audit trail: a growing table, searched by partner, actor or target -------


@pytest.mark.parametrize(
    "term",
    ["alice-pay", "ops@jopay.example", "jo_live_AbCd", '"manage.py fx_pin"'],
)
def test_every_audit_entry_search_is_served_by_an_index(rf, admin_user, partner, term):
    # "=partner__slug", "=actor", "=target": UPPER(col) = UPPER(term) on
    # columns no index serves, OR-ed with a join to partners, read every entry.
    from merchants.models import AuditEntry

    plan = search_plan(rf, admin_user, AuditEntry, term)

    assert_indexed(plan, "merchants_auditentry")


def test_audit_entries_are_found_by_partner_actor_or_target(admin_client, partner):
    from merchants.audit import acting_as, audit_record
    from merchants.models import AuditEntry

    with acting_as(AuditEntry.ActorKind.STAFF, "Ops@JoPay.example"):
        audit_record(partner=partner, action="api_key.revoked", target="jo_live_AbCd")
    with acting_as(AuditEntry.ActorKind.OPERATOR, "manage.py fx_pin"):
        audit_record(partner=None, action="fx_rate.pinned", target="EUR")

    def actions(term: str) -> list[str]:
        page = admin_client.get("/admin/merchants/auditentry/", {"q": term})
        assert page.status_code == 200
        return [e.action for e in page.context["cl"].result_list]

    assert actions(partner.slug) == ["api_key.revoked"]
    assert actions("ops@jopay.example") == ["api_key.revoked"]  # any case
    assert actions("JO_LIVE_ABCD") == ["api_key.revoked"]
    assert actions('"manage.py fx_pin"') == ["fx_rate.pinned"]
    assert actions("eur") == ["fx_rate.pinned"]
    assert actions("nobody") == []


@pytest.mark.parametrize("kind", ["operator", "merchant", "staff"])
def test_the_audit_entry_filter_by_actor_kind_is_served_by_an_index(
    rf, admin_user, kind
):
    # "By actor kind: Operator command" (a rare kind) read the whole trail
    # backwards by id for a page, and all of it for the count.
    query = {"actor_kind__exact": kind}
    from merchants.models import AuditEntry

    request = rf.get("/admin/merchants/auditentry/", query)
    request.user = admin_user
    changelist = admin.site._registry[AuditEntry].get_changelist_instance(request)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction
    for queryset in (changelist.queryset, changelist.queryset.order_by()):
        plan = json.loads(queryset[:100].explain(format="json"))[0]["Plan"]
        assert_indexed(plan, "merchants_auditentry")
