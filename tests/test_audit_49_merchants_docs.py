"""/docs/merchants/ says what an empty value does on create (D4, D34).

The page said ``null`` and ``""`` both mean "not set" for every field of the
create body; for ``account_type`` the API takes ``null`` as the default
``business`` but refuses ``""``, so a partner whose form sends ``""`` for an
unchosen type got ``invalid_account_type`` with the page saying otherwise.
"""

from __future__ import annotations

import pytest

from tests.docs.blocks import PAGES_BY_SLUG, source_text


def merchants_page() -> str:
    return " ".join(source_text(PAGES_BY_SLUG["merchants"]).split())


@pytest.mark.parametrize(
    "field", ["display_name", "email", "country", "display_currency", "phone"]
)
def test_an_empty_text_field_is_not_set(api, field):
    response = api.post("/api/v1/merchants", {field: ""}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()[field] is None


def test_account_type_null_is_the_default_and_empty_is_refused_as_the_page_says(api):
    null = api.post("/api/v1/merchants", {"account_type": None}, format="json")
    empty = api.post("/api/v1/merchants", {"account_type": ""}, format="json")

    assert null.json()["account_type"] == "business"
    assert (empty.status_code, empty.json()["error"]) == (400, "invalid_account_type")
    assert (
        "for `account_type`, which has no empty value: there `null` takes the "
        'default `business` and `""` answers `invalid_account_type`'
    ) in merchants_page()
