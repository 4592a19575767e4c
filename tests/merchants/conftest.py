"""Helpers for the merchant tests: the create call and a clean-key generator."""

from __future__ import annotations

import secrets

import pytest

URL = "/api/v1/merchants"


def detail_url(merchant_id) -> str:
    return f"{URL}/{merchant_id}"


def new_key() -> str:
    """A valid D17 idempotency key (64 hex)."""
    return secrets.token_hex(32)


@pytest.fixture
def create(api):
    """``create(body, client=api)`` → the response of ``POST /api/v1/merchants``."""

    def call(body, client=None):
        return (client or api).post(URL, body, format="json")

    return call
