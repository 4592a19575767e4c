"""``return_url`` as a URI (RFC 3986): the OpenAPI document's ``format: uri``.

New values must already be one (``payments.api.serializers.parse_return_url``).
Rows stored before those rules (ec25191: non-ASCII, such as a Unicode host or
a bidi override in the path; eeeb3c0: control characters) are not rewritten:
each read converts the stored IRI with ``return_url_uri``, so the stored text
stays what the partner sent and the answer is always a URI or null.
"""

from __future__ import annotations

import re

import idna
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

# What may stand in a path, query or fragment as it is (RFC 3986 pchar, "/"
# and "?"), and an escape already made; anything else is percent-encoded.
_KEPT = re.compile(r"%[0-9A-Fa-f]{2}|[A-Za-z0-9\-._~!$&'()*+,;=:@/?]")
_USERINFO_KEPT = re.compile(r"%[0-9A-Fa-f]{2}|[A-Za-z0-9\-._~!$&'()*+,;=:]")
_PCHARS = r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9\-._~!$&'()*+,;=:@/?])*"
_AUTHORITY = r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]])+"
# An https URI in RFC 3986 characters: what needs no conversion.
_URI = re.compile(rf"https://{_AUTHORITY}(?:[/?]{_PCHARS})?(?:#{_PCHARS})?")
_https_url = URLValidator(schemes=["https"])


def https_lowered(value: str) -> str:
    """``value`` with an ``https://`` written in any case as ``https://``.

    RFC 3986 §3.1: schemes are case-insensitive and lower case is their normal
    form (§6.2.2.1), so ``HTTPS://shop.example/`` is an https URL, kept and
    answered as ``https://shop.example/``. Anything else comes back unchanged.
    """
    if value[:8].lower() == "https://":
        return "https://" + value[8:]
    return value


def link_problem(uri: str) -> str | None:
    """Why the https URI ``uri`` is no link to show a paying customer, or None.

    A ``user:password@`` before the host (RFC 3986 §3.2.1 deprecates passwords
    in URIs; ``https://shop.example@evil.example/`` looks like the shop and
    opens another host, browsers warn or refuse) and a port outside
    1 … 65 535 (RFC 6335: nothing can listen there) are refused (D35 "Back to
    shop" link). ``uri`` is an https URI as ``is_uri`` reads it.
    """
    rest = uri[len("https://") :]
    authority = rest[
        : min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
    ]
    if "@" in authority:
        return "a user name or password (user:pass@) before the host"
    port = authority.rpartition("]")[2] if authority.startswith("[") else authority
    _, colon, digits = port.partition(":")
    if colon and not (digits.isdigit() and 1 <= int(digits) <= 65_535):
        return "a port outside 1-65535"
    return None


def is_uri(value: str) -> bool:
    """True if ``value`` is an https URI as it stands (nothing to convert)."""
    return bool(_URI.fullmatch(value))


def return_url_uri(value: str) -> str | None:
    """The stored ``return_url`` as an https URI, or None (none, or no URI says it).

    A URI is returned as stored. Otherwise the host is IDNA-encoded (UTS 46, as
    ``webhooks.urlsafety`` and ``requests`` encode hosts) and every other
    character outside RFC 3986 is percent-encoded as UTF-8 (a second ``#``
    too, and a ``%`` that starts no escape). None when the host has no IDNA
    form (a bidi override or a space in it, an empty label) or the result is
    still no https URL: a link we cannot write down is one we do not show.
    """
    if not value:
        return None
    if is_uri(value):
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() != "https":
        return None
    end = min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
    tail, hash_, fragment = rest[end:].partition("#")
    try:
        authority = _authority_uri(rest[:end])
        uri = f"https://{authority}{_escape(tail)}{hash_}{_escape(fragment)}"
        _https_url(uri)
    except (idna.IDNAError, UnicodeError, ValueError, ValidationError):
        return None
    return uri if is_uri(uri) else None


def shown_return_url(value: str) -> str | None:
    """The "Back to shop" link (D35) for the stored ``return_url``, or None.

    ``return_url_uri``, less what the create refuses as a link
    (``link_problem``): a row stored before that rule (7718138) still answers
    the API as stored, but ``https://shop.example@evil.example/`` is no link a
    paying customer is sent to from the pay page or the receipt.
    """
    uri = return_url_uri(value)
    return None if uri is None or link_problem(uri) else uri


def _authority_uri(authority: str) -> str:
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):  # an IP literal: ASCII or nothing
        if not hostport.isascii():
            raise ValueError("non-ASCII IP literal")
        host, port = hostport, ""
    else:
        host, colon, port = hostport.partition(":")
        port = colon + port
        if not host.isascii():
            host = idna.encode(host, uts46=True).decode("ascii")
    return f"{_escape(userinfo, _USERINFO_KEPT)}{at}{host}{port}"


def _escape(text: str, kept: re.Pattern = _KEPT) -> str:
    out, at = [], 0
    for match in kept.finditer(text):
        out.append(_percent(text[at : match.start()]))
        out.append(match.group())
        at = match.end()
    out.append(_percent(text[at:]))
    return "".join(out)


def _percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))
