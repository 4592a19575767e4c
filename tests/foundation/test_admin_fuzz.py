"""Every admin changelist and object page, given odd query strings, never a 500.

As a superuser and as staff who may only view: bad and unknown filters, filter
values of the wrong type, page numbers far past the end, searches with LIKE
wildcards, backslashes, NUL and 10 kB of text, and a sort by every column.
Each answer is a page (200), the admin's "invalid filter" redirect (302), a
refusal (400/403) or a 404: never a 500.
"""

from __future__ import annotations

import itertools

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory
from tests.foundation.query_world import grow

pytestmark = pytest.mark.django_db

ODD_TERMS = ["%", "_", "\\", "%_\\", "a\x00b", "\x00", "x" * 10_240, "' OR 1=1 --"]
ODD_QUERIES = [
    "p=99999999",
    "p=-1",
    "p=abc",
    "p=" + "9" * 40,
    "o=99",
    "o=-99",
    "o=abc",
    "o=1.-2.x",
    "o=" + "1." * 500,
    "nonexistent=1",
    "e=1",
    "all=",
    "_popup=1",
    "_to_field=id",
    "_to_field=nonexistent",
    "id__exact=not-a-uuid",
    "id__in=a,b,c",
    "pk=%00",
    "created_at__gte=not-a-date",
    "created_at__year=99999999999999999999",
    "status__exact=%00",
    "test_mode__exact=maybe",
    "test_mode__exact=%00",
    "partner__id__exact=not-a-uuid",
    "partner__id__exact=%00",
    "partner__slug__regex=(",
    "chain_id=%00",
    "chain_id=1" + "0" * 30,
    "revoked_at__isnull=maybe",
    "q=%00",
    "q=" + "%25_%5C" * 20,
]
OK = {200, 302, 400, 403, 404}


def _queries(model_admin) -> list[str]:
    queries = list(ODD_QUERIES)
    queries += [f"q={term}" for term in ODD_TERMS]
    columns = len(model_admin.list_display) + 1
    queries += [f"o={i}" for i in range(1, columns + 1)]
    queries += [f"o=-{i}" for i in range(1, columns + 1)]
    queries += [f"o={a}.-{b}" for a, b in itertools.permutations(range(1, 4), 2)]
    for name in model_admin.list_filter:
        if isinstance(name, str):
            queries += [f"{name}=%00", f"{name}__exact=%00", f"{name}__isnull=2"]
    # The admin takes a lookup on any of the model's own fields, filter or not.
    for field in model_admin.model._meta.concrete_fields:
        queries += [f"{field.name}=%00", f"{field.name}__startswith=a%00"]
    return queries


def _get(client: Client, url: str, query: str):
    from urllib.parse import parse_qsl

    # parse_qsl: keep NUL, backslash and 10 kB values exactly as sent.
    return client.get(url, dict(parse_qsl(query, keep_blank_values=True)))


@pytest.fixture
def world(partner, merchant, test_merchant):
    grow(partner, merchant, 2)
    grow(partner, test_merchant, 1)


def _client(user) -> Client:
    # A 500 is an answer to count here, not an exception that stops the loop.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def superuser(admin_user) -> Client:
    return _client(admin_user)


@pytest.fixture
def viewer(db) -> Client:
    """Staff who may view every registered model and change nothing."""
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return _client(user)


@pytest.mark.parametrize(
    "model_admin",
    list(admin.site._registry.values()),
    ids=lambda ma: f"{ma.opts.app_label}.{ma.opts.model_name}",
)
def test_changelists_answer_odd_query_strings_without_a_500(
    model_admin, world, superuser, viewer
):
    url = f"/admin/{model_admin.opts.app_label}/{model_admin.opts.model_name}/"
    failures = []
    for who, client in (("superuser", superuser), ("viewer", viewer)):
        for query in _queries(model_admin):
            status = _get(client, url, query).status_code
            if status not in OK:
                failures.append((who, query[:80], status))
    assert failures == []


ODD_IDS = [
    "not-a-uuid",
    "0",
    "-1",
    "%00",
    "a%00b",
    "9" * 40,
    "x" * 5000,
    "00000000-0000-0000-0000-000000000000",
    "..%2F..%2Fadmin",
]


@pytest.mark.parametrize(
    "model_admin",
    list(admin.site._registry.values()),
    ids=lambda ma: f"{ma.opts.app_label}.{ma.opts.model_name}",
)
def test_object_pages_answer_odd_ids_without_a_500(
    model_admin, world, superuser, viewer
):
    base = f"/admin/{model_admin.opts.app_label}/{model_admin.opts.model_name}/"
    failures = []
    for who, client in (("superuser", superuser), ("viewer", viewer)):
        for object_id in ODD_IDS:
            for suffix in ("change/", "history/", "delete/", "attach-proof/"):
                url = f"{base}{object_id}/{suffix}"
                status = client.get(url).status_code
                if status not in OK:
                    failures.append((who, url[:100], status))
    assert failures == []


ODD_SELECTIONS = [["not-a-uuid"], ["\x00"], ["1" * 50], ["-1"], ["1", "x"]]


@pytest.mark.parametrize(
    "model_admin",
    list(admin.site._registry.values()),
    ids=lambda ma: f"{ma.opts.app_label}.{ma.opts.model_name}",
)
def test_actions_posted_with_malformed_ids_do_nothing(model_admin, world, superuser):
    """Django filtered ``pk__in`` with the posted ids as they were: a 500."""
    url = f"/admin/{model_admin.opts.app_label}/{model_admin.opts.model_name}/"
    actions = [*(model_admin.actions or []), "delete_selected"]
    failures = []
    for action in actions:
        for selected in ODD_SELECTIONS:
            for extra in ({}, {"index": "0"}, {"post": "yes"}):
                data = {"action": action, "_selected_action": selected, **extra}
                status = superuser.post(url, data).status_code
                if status not in OK:
                    failures.append((action, selected, extra, status))
    assert failures == []


def test_autocomplete_answers_a_nul_term_without_a_500(world, superuser):
    """Any relation to a model whose admin searches opens its autocomplete."""
    for app, model, field in [
        ("payments", "paymentrequest", "merchant"),
        ("payments", "paymentrequest", "partner"),
        ("merchants", "apikey", "partner"),
        ("recurring", "plan", "merchant"),
    ]:
        query = {"app_label": app, "model_name": model, "field_name": field}
        for term in ("\x00", "a\x00", "%_\\", "x" * 10_240):
            answer = superuser.get("/admin/autocomplete/", {**query, "term": term})
            assert answer.status_code in OK, (model, field, term[:5])


def test_an_empty_attach_proof_post_is_judged_by_the_service(
    world, superuser, merchant
):
    """``request.POST or None`` left the form unbound: its cleaned_data was a 500."""
    from payments.models import PaymentRequest

    pr = PaymentRequest.objects.filter(merchant=merchant).first()
    url = f"/admin/payments/paymentrequest/{pr.pk}/attach-proof/"
    answer = superuser.post(url, {}, follow=True)
    assert answer.status_code == 200
    assert "tx_hash must be 0x + 64 hex characters" in answer.content.decode()
    pr.refresh_from_db()
    assert pr.proof_status == PaymentRequest.ProofStatus.VERIFIED  # unchanged


def _shape_queries(model_admin) -> list[str]:
    """Lookups whose value has a shape of its own: a range is two values, a
    regular expression must compile (in PostgreSQL's dialect)."""
    queries = []
    for field in model_admin.model._meta.concrete_fields:
        name = field.name
        queries += [f"{name}__range=1", f"{name}__range=1,2,3", f"{name}__range="]
        queries += [f"{name}__regex=(", f"{name}__iregex=[", f"{name}__regex=a{{2,1}}"]
        if field.get_internal_type() in ("DateTimeField", "DateField"):
            queries += [f"{name}__year__range=2020", f"{name}__month__range=1,2,3"]
    return queries


@pytest.mark.parametrize(
    "model_admin",
    list(admin.site._registry.values()),
    ids=lambda ma: f"{ma.opts.app_label}.{ma.opts.model_name}",
)
def test_changelists_answer_a_misshapen_range_or_regex_without_a_500(
    model_admin, world, superuser
):
    # ?id__range=1 (Django unpacks two values: ValueError) and ?actor__regex=(
    # (PostgreSQL: invalid regular expression, a DataError) were 500 pages on
    # every changelist: the admin takes any lookup on the model's own fields.
    url = f"/admin/{model_admin.opts.app_label}/{model_admin.opts.model_name}/"
    failures = []
    for query in _shape_queries(model_admin):
        status = _get(superuser, url, query).status_code
        if status not in OK:
            failures.append((query[:80], status))
    assert failures == []
