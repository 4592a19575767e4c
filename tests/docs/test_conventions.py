"""The overview page's conventions (/docs/) hold for the API as served (D3, D35)."""

from __future__ import annotations

import json

import pytest
import yaml

from jopay_project.docs.render import PAGES_BY_SLUG, source_text

pytestmark = pytest.mark.django_db


def test_the_openapi_document_is_yaml_unless_json_is_asked_for(client):
    """/docs/ said only "every answer from /api/v1 is JSON": a partner piping
    ``curl $JOPAY_URL/api/v1/schema`` into a JSON tool got YAML."""
    plain = client.get("/api/v1/schema")
    assert "openapi" in yaml.safe_load(plain.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain.content)
    for answer in (
        client.get("/api/v1/schema", HTTP_ACCEPT="application/json"),
        client.get("/api/v1/schema?format=json"),
    ):
        assert answer.status_code == 200
        assert "openapi" in json.loads(answer.content)

    overview = " ".join(source_text(PAGES_BY_SLUG[""]).split())
    assert "It answers YAML unless you ask for JSON" in overview
    assert "`Accept: application/json` or `?format=json`" in overview
    assert 'curl -s "$JOPAY_URL/api/v1/schema?format=json"' in overview


# What /docs/requests/ tells partners to percent-encode in return_url.
NOT_AS_IS = [" ", "é", "<", ">", '"', "{", "}", "\\", "^", "`", "|", "%zz", "#x#"]


@pytest.mark.parametrize("text", NOT_AS_IS)
def test_return_url_refuses_what_the_docs_say_to_percent_encode(
    api, merchant, fx_rates, text
):
    """A space was refused (invalid_return_url) but missing from the page's list,
    and the error table called the refused URL "not an ASCII https URL"."""

    def create(url):
        body = {"merchant_id": str(merchant.pk), "fiat_amount_int": 2500}
        return api.post(
            "/api/v1/requests/create", {**body, "return_url": url}, format="json"
        )

    url = f"https://shop.example.com/a{text}b"
    assert create(url).json()["error"] == "invalid_return_url", url
    encoded = "".join(f"%{b:02X}" for b in text.encode()) if text != "#x#" else "#x"
    assert create(f"https://shop.example.com/a{encoded}b").status_code == 201

    page = " ".join(source_text(PAGES_BY_SLUG["requests"]).split())
    assert "non-ASCII, a space (`%20`)," in page
    assert "Not an ASCII `https://` URL" not in page


def test_another_tenants_plan_is_plan_not_found_as_the_overview_says(
    api, client_for, other_partner, partner, merchant, fx_rates
):
    """/docs/#tenancy-and-test-mode promised 404 not_found for another partner's
    or mode's id; a plan id answers plan_not_found (D35), as recurring.md says."""
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 1500,
        "frequency": "monthly",
        "customer_wallet": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    }
    plan_id = api.post("/api/v1/recurring/plans", body, format="json").json()["plan_id"]
    for stranger in (client_for(other_partner), client_for(partner, test_mode=True)):
        answer = stranger.get(f"/api/v1/recurring/plans/{plan_id}")
        assert answer.status_code == 404
        assert answer.json()["error"] == "plan_not_found"

    overview = " ".join(source_text(PAGES_BY_SLUG[""]).split())
    assert "answers `404 not_found` (`plan_not_found` for a recurring plan)" in overview


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("delete", "/api/v1/requests", "requests:read"),
        ("delete", "/api/v1/recurring/plans", "recurring:read"),
        ("get", "/api/v1/requests/create", "requests:write"),
        ("get", "/api/v1/webhooks/test", "webhooks:write"),
        (
            "get",
            "/api/v1/events/8a1e4c77-2b3d-4f6a-9e58-0c7d1b2a3f45/resend",
            "webhooks:write",
        ),
    ],
)
def test_a_wrong_method_asks_for_the_routes_scope_as_the_overview_says(
    client_for, partner, method, path, scope
):
    """The overview said a key without the route's *read* scope gets
    insufficient_scope; a route with no read method (create, test, resend)
    asks for its write scope."""
    key = client_for(partner, scopes=["fx:read"])
    answer = getattr(key, method)(path)
    assert answer.status_code == 403
    assert answer.json()["required_scope"] == scope
    overview = " ".join(source_text(PAGES_BY_SLUG[""]).split())
    assert (
        "its read scope where the route has a read method, else its write scope"
        in overview
    )
    assert "`GET /api/v1/requests/create` asks for `requests:write`" in overview
