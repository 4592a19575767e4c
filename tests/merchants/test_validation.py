"""The shared validators in merchants/validation.py (D4, D17), as pure functions."""

from __future__ import annotations

import pytest
from eth_account import Account

from jopay_project.errors import ErrorCode, JoPayError
from merchants.validation import (
    ISO_3166_ALPHA2,
    body_hash,
    validate_country,
    validate_email,
    validate_evm_address,
    validate_idempotency_key,
)
from tests.factories import WALLET


def _code(fn, *args):
    with pytest.raises(JoPayError) as info:
        fn(*args)
    return info.value.code


# --- idempotency keys (D17) -----------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "a" * 32,
        "Z" * 64,
        "0123456789abcdef" * 4,  # hex, 64
        "AbC-_" * 7 + "xy",  # base64url alphabet, 37 chars
        "550e8400-e29b-41d4-a716-446655440000",  # a UUID string is 36 base64url chars
    ],
)
def test_idempotency_key_accepts_32_to_64_base64url_or_hex(key):
    assert validate_idempotency_key(key) == key


def test_idempotency_key_none_passes_through():
    assert validate_idempotency_key(None) is None


@pytest.mark.parametrize(
    "key",
    [
        "",
        "a" * 31,
        "a" * 65,
        "a" * 31 + "=",
        "a" * 31 + "+",
        "a" * 31 + "/",
        "a" * 32 + "\n",
        " " + "a" * 32,
        "ä" * 32,
        12345678901234567890123456789012345,
        True,
        ["a" * 32],
        {"k": "a" * 32},
        1.5,
    ],
)
def test_idempotency_key_rejects_anything_else(key):
    assert _code(validate_idempotency_key, key) is ErrorCode.INVALID_IDEMPOTENCY_KEY


# --- EVM addresses (EIP-55) -----------------------------------------------------------


def test_evm_address_accepts_checksummed_and_single_case_and_returns_it_as_given():
    code = ErrorCode.INVALID_WALLET_ADDRESS
    assert validate_evm_address(WALLET, code) == WALLET
    assert validate_evm_address(WALLET.lower(), code) == WALLET.lower()
    upper = "0x" + WALLET[2:].upper()
    assert validate_evm_address(upper, code) == upper
    fresh = Account.create().address
    assert validate_evm_address(fresh, code) == fresh


def _break_checksum(address: str) -> str:
    """Flip the case of the first letter: still mixed case, now a wrong EIP-55."""
    for i, ch in enumerate(address[2:], start=2):
        if ch.isalpha():
            return address[:i] + ch.swapcase() + address[i + 1 :]
    raise AssertionError("no letter to flip")


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.INVALID_WALLET_ADDRESS,
        ErrorCode.INVALID_WITHDRAW_ADDRESS,
        ErrorCode.INVALID_CUSTOMER_WALLET,
    ],
)
def test_evm_address_raises_the_callers_code(code):
    assert _code(validate_evm_address, _break_checksum(WALLET), code) is code


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0x",
        WALLET[:-1],
        WALLET + "0",
        WALLET[2:],
        "0X" + WALLET[2:],
        "0x" + "g" * 40,
        WALLET + "\n",
        " " + WALLET,
        None,
        123,
        True,
        [WALLET],
        {"a": WALLET},
    ],
)
def test_evm_address_rejects_malformed(value):
    code = ErrorCode.INVALID_WALLET_ADDRESS
    assert _code(validate_evm_address, value, code) is code


def test_evm_address_rejects_a_mixed_case_typo():
    assert (
        _code(
            validate_evm_address,
            _break_checksum(WALLET),
            ErrorCode.INVALID_WALLET_ADDRESS,
        )
        is ErrorCode.INVALID_WALLET_ADDRESS
    )


# --- e-mail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "a@b.co",
        "first.last+tag@sub.example.com",
        "x" * 64 + "@" + ("d" * 61 + ".") * 3 + "com",
    ],
)  # 254
def test_email_accepts_basic_addresses(value):
    assert validate_email(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@localhost",
        "a b@example.com",
        "a@@example.com",
        "a@example",
        "a@.com",
        "x" * 64 + "@" + ("d" * 61 + ".") * 3 + "come",  # 255
        "a@example.com\n",
        # An address literal is no user@domain.tld: the onboarding e-mail
        # would have our relay deliver to that IP (127.0.0.1, an internal host).
        "a@[127.0.0.1]",
        "a@[10.0.0.5]",
        "a@[IPv6:::1]",
        None,
        1,
        True,
        ["a@b.co"],
    ],
)
def test_email_rejects_malformed(value):
    assert _code(validate_email, value) is ErrorCode.INVALID_EMAIL


# --- country --------------------------------------------------------------------------


def test_country_list_is_the_249_iso_3166_codes():
    assert len(ISO_3166_ALPHA2) == 249
    assert {"DE", "US", "JP", "AX", "SS", "XK"} - ISO_3166_ALPHA2 == {
        "XK"
    }  # XK: not ISO


@pytest.mark.parametrize(
    "value", ["de", "D", "DEU", "XX", "UK", "EU", "", None, 49, ["DE"]]
)
def test_country_rejects_non_codes(value):
    assert _code(validate_country, value) is ErrorCode.INVALID_COUNTRY


# --- body hash ------------------------------------------------------------------------


def test_body_hash_ignores_key_order_and_the_idempotency_key_itself():
    a = body_hash({"email": "a@b.co", "country": "DE", "idempotency_key": "k" * 32})
    b = body_hash({"country": "DE", "email": "a@b.co"})
    assert a == b
    assert len(a) == 64
    assert body_hash({"country": "FR", "email": "a@b.co"}) != a
