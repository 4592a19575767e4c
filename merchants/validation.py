"""Small pure validators shared by the API, the onboarding page and other apps.

Each function takes a raw value (anything JSON can carry), returns it when it is
acceptable and raises ``JoPayError`` with the field's registry code otherwise
(D4: a wrong JSON type of a known field is that field's own code). None of
them touches the database.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from eth_utils import is_checksum_address

from jopay_project.errors import ErrorCode, JoPayError

# D17: 32-64 characters of base64url (unpadded) or hex; hex is a subset of the
# base64url alphabet, so one pattern covers both. \Z, not $: "$" would let a
# trailing newline through.
_IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_-]{32,64}\Z")
_EVM_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_EMAIL_MAX = 254  # RFC 5321 path limit; also the model column's size.
_email_validator = EmailValidator(allowlist=[])  # no bare "user@localhost"

# ISO 3166-1 alpha-2, the 249 officially assigned codes (pycountry is not a
# dependency, so the list lives here; tests pin the count).
_ISO_3166_ALPHA2_TEXT = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
"""
ISO_3166_ALPHA2: frozenset[str] = frozenset(_ISO_3166_ALPHA2_TEXT.split())


def has_unstorable_chars(value: str) -> bool:
    """True if ``value`` holds a control character or a lone surrogate.

    PostgreSQL refuses NUL in text, and a lone surrogate (valid as a JSON
    escape, ``"\\ud800"``) cannot be encoded as UTF-8: either would fail as a
    500 when saved, so validators refuse them with the field's own code.
    """
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


# Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI):
# shown to a customer, one reorders the text after it, so a page reads
# otherwise than the partner sent it (D22). The marks LRM/RLM/ALM only nudge
# neutral characters and belong in mixed-direction text: they stay.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What a memo keeps of the control characters: line breaks as a textarea sends
# them (CRLF) and tab. HTML reads CR and CRLF as a line feed, so the pay page
# shows them as lines.
MEMO_KEEPS = "\r\n\t"


def shown_text_problem(value: str, *, keep: str = "") -> str | None:
    """Why ``value`` may not be shown to a customer (pay page, receipt), or None.

    Refused: C0 and C1 control characters and DEL except those in ``keep``,
    lone surrogates (``has_unstorable_chars``) and ``BIDI_CONTROLS``. The
    answer completes "… must not contain …" in the field's error message.
    """
    for c in value:
        if c in keep:
            continue
        category = unicodedata.category(c)
        if category == "Cc":
            return f"control characters (U+{ord(c):04X})"
        if category == "Cs":
            return f"unpaired surrogates (U+{ord(c):04X})"
        if c in BIDI_CONTROLS:
            return f"bidirectional formatting characters (U+{ord(c):04X})"
    return None


def shown_text(value: str, *, keep: str = "") -> str:
    """``value`` without what ``shown_text_problem`` refuses, for showing it.

    New input is refused with the field's code; rows stored before that rule
    (a memo or a merchant name with a bidi override) are shown without the
    characters, never rewritten.
    """
    if shown_text_problem(value, keep=keep) is None:
        return value  # the common case: one pass, no copy
    return "".join(
        c
        for c in value
        if c in keep
        or (unicodedata.category(c) not in ("Cc", "Cs") and c not in BIDI_CONTROLS)
    )


def validate_idempotency_key(value: Any) -> str | None:
    """D17: ``None`` passes through; else a 32-64 char base64url/hex string.

    Raises ``JoPayError(invalid_idempotency_key)`` for anything else, including
    non-strings (numbers, bools, arrays) and the empty string.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not _IDEMPOTENCY_KEY_RE.match(value):
        raise JoPayError(ErrorCode.INVALID_IDEMPOTENCY_KEY)
    return value


def validate_evm_address(value: Any, code: ErrorCode) -> str:
    """``0x`` + 40 hex, not the zero address; returns the address exactly as given.

    All-lowercase and all-uppercase hex carry no checksum and are accepted;
    mixed case must be a valid EIP-55 checksum (a typo in a checksummed address
    is caught instead of sending money to it). The zero address is refused:
    nobody holds its key and a USDC transfer to it reverts, so a request to it
    could never be paid (D28). Anything else → ``JoPayError(code)``. The token
    contracts, which need the chain registry, are refused by
    ``merchants.addresses.receiving_address_validate``.
    """
    if not isinstance(value, str) or not _EVM_ADDRESS_RE.match(value):
        raise JoPayError(code)
    digits = value[2:]
    mixed_case = digits not in (digits.lower(), digits.upper())
    if mixed_case and not is_checksum_address(value):
        raise JoPayError(code)
    if int(digits, 16) == 0:
        raise JoPayError(code)
    return value


def validate_email(value: Any) -> str:
    """A string of at most 254 characters in basic ``user@domain.tld`` form
    (a domain name, not an IP address literal).

    Returns it unchanged; raises ``JoPayError(invalid_email)`` otherwise.
    """
    if not isinstance(value, str) or not value or len(value) > _EMAIL_MAX:
        raise JoPayError(ErrorCode.INVALID_EMAIL)
    if has_unstorable_chars(value):  # EmailValidator lets a surrogate host through
        raise JoPayError(ErrorCode.INVALID_EMAIL)
    try:
        _email_validator(value)
    except ValidationError:
        raise JoPayError(ErrorCode.INVALID_EMAIL) from None
    domain = value.rpartition("@")[2]
    # EmailValidator takes an address literal (``a@[127.0.0.1]``), which is
    # no domain.tld: mailing it has the relay deliver to that IP.
    if "." not in domain.strip(".") or domain.startswith("["):
        raise JoPayError(ErrorCode.INVALID_EMAIL)
    return value


def validate_country(value: Any) -> str:
    """An ISO 3166-1 alpha-2 code in upper case (``DE``), else ``invalid_country``."""
    if not isinstance(value, str) or value not in ISO_3166_ALPHA2:
        raise JoPayError(ErrorCode.INVALID_COUNTRY)
    return value


def body_hash(data: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of the normalised known fields (D17).

    Keys are sorted and separators fixed, so the same fields in any order hash
    alike. ``idempotency_key`` itself is left out: it names the body, it is not
    part of it. Callers pass only known, normalised fields (defaults applied),
    so an ignored unknown field never turns a replay into a conflict.

    Total over anything JSON can carry: a lone surrogate is hashed as its code
    point (``surrogatepass``) instead of raising, so a caller may hash before
    validating and let validation answer the field's own code. Every other
    string hashes exactly as plain UTF-8, so stored hashes keep matching.
    """
    fields = {k: v for k, v in data.items() if k != "idempotency_key"}
    canonical = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
