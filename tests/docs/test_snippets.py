"""The signature-verification code on /docs/events/ works against real signatures (D25).

The Python and Node snippets are taken from the Markdown as a reader would
copy them and run against headers made by ``webhooks.signing``, the code
that signs real deliveries. Each snippet must accept a good delivery (also
one signed by two secrets during a rotation) and refuse a tampered body, a
wrong secret and a stale timestamp.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks import signing

from .blocks import one_block, page_blocks

NODE = shutil.which("node") or "/usr/bin/node"
BODY = json.dumps(
    {"event": "payment.proof_verified", "delivery_id": "d-1", "note": "café ✓"},
    separators=(",", ":"),
    ensure_ascii=False,
).encode()
DELIVERY_ID = "c41f0e9a-3d7b-4b25-8e6a-1f9d0c2b7a53"


def headers(secrets, *, body=BODY, at=None):
    return signing.signature_headers(
        secrets_new_first=secrets,
        delivery_id=DELIVERY_ID,
        attempt=1,
        timestamp=int(time.time()) if at is None else at,
        body=body,
    )


def cases():
    """(name, body the receiver got, headers, receiver's secret, expected)."""
    new, old = signing.secret_new(), signing.secret_new()
    now = int(time.time())
    return [
        ("good", BODY, headers([new]), new, True),
        ("rotation, receiver has the new secret", BODY, headers([new, old]), new, True),
        ("rotation, receiver has the old secret", BODY, headers([new, old]), old, True),
        (
            "whsec form of the secret",
            BODY,
            headers([new]),
            signing.standard_secret(new),
            True,
        ),
        ("tampered body", BODY + b" ", headers([new]), new, False),
        ("wrong secret", BODY, headers([new]), old, False),
        ("stale timestamp", BODY, headers([new], at=now - 400), new, False),
        ("future timestamp", BODY, headers([new], at=now + 400), new, False),
        ("within the window", BODY, headers([new], at=now - 200), new, True),
    ]


def case(name: str):
    """One case, built when the test runs (the timestamps are relative to now)."""
    return next(c for c in cases() if c[0] == name)


NAMES = [c[0] for c in cases()]
HEX_NAMES = [n for n in NAMES if n != "whsec form of the secret"]


def python_verify(snippet_name: str, function: str):
    code = one_block("events", lang="python", data_snippet=snippet_name).code
    namespace: dict = {}
    exec(compile(code, f"docs:{snippet_name}.py", "exec"), namespace)  # noqa: S102
    return namespace[function]


@pytest.mark.parametrize("name", HEX_NAMES)
def test_python_x_jopay_signature_snippet(name):
    _name, body, hdrs, secret, expected = case(name)
    verify = python_verify("verify-jopay", "verify_jopay_signature")

    assert verify(body, hdrs["x-jopay-signature"], secret) is expected


@pytest.mark.parametrize("name", NAMES)
def test_python_standard_webhooks_snippet(name):
    _name, body, hdrs, secret, expected = case(name)
    verify = python_verify("verify-standard", "verify_standard_webhook")
    lower = {k.lower(): v for k, v in hdrs.items()}

    assert verify(body, lower, secret) is expected


# Header text a receiver's framework hands over as it arrived (HTTP header
# bytes are read as Latin-1): anyone can send it, and a verifier must answer
# False to it, never raise (an unhandled error is a 500 from the receiver).
# "²" passes str.isdigit() but not int(); hmac.compare_digest refuses
# non-ASCII str arguments with a TypeError.
def junk_jopay_headers() -> dict[str, str]:
    now = str(int(time.time()))
    return {
        "superscript timestamp": "v1=" + "0" * 64 + ",t=\u00b2",
        "non-ASCII signature": "v1=\u00e9" + "0" * 63 + ",t=" + now,
    }


def junk_standard_headers() -> dict[str, dict[str, str]]:
    good = {k.lower(): v for k, v in headers([signing.secret_new()]).items()}
    return {
        "superscript timestamp": {**good, "webhook-timestamp": "\u00b2"},
        "non-ASCII signature": {**good, "webhook-signature": "v1,\u00e9"},
    }


@pytest.mark.parametrize("name", list(junk_jopay_headers()))
def test_python_x_jopay_signature_snippet_refuses_junk_without_raising(name):
    verify = python_verify("verify-jopay", "verify_jopay_signature")

    assert verify(BODY, junk_jopay_headers()[name], signing.secret_new()) is False


@pytest.mark.parametrize("name", list(junk_standard_headers()))
def test_python_standard_webhooks_snippet_refuses_junk_without_raising(name):
    verify = python_verify("verify-standard", "verify_standard_webhook")

    assert verify(BODY, junk_standard_headers()[name], signing.secret_new()) is False


NODE_HARNESS = """
const input = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const results = input.cases.map((c) => {
  const body = Buffer.from(c.body, "base64");
  return input.scheme === "jopay"
    ? verifyJoPaySignature(body, c.headers["x-jopay-signature"], c.secret)
    : verifyStandardWebhook(body, c.headers, c.secret);
});
process.stdout.write(JSON.stringify(results));
"""


def run_node(snippet_name: str, scheme: str, selected: list) -> list[bool]:
    import base64

    code = one_block("events", lang="javascript", data_snippet=snippet_name).code
    payload = {
        "scheme": scheme,
        "cases": [
            {
                "body": base64.b64encode(body).decode(),
                "headers": {k.lower(): v for k, v in hdrs.items()},
                "secret": secret,
            }
            for _name, body, hdrs, secret, _expected in selected
        ],
    }
    done = subprocess.run(
        [NODE, "-e", code + NODE_HARNESS],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_node_x_jopay_signature_snippet():
    selected = [c for c in cases() if c[0] in HEX_NAMES]

    results = run_node("verify-jopay", "jopay", selected)

    assert dict(zip([c[0] for c in selected], results, strict=True)) == {
        c[0]: c[4] for c in selected
    }


def test_node_standard_webhooks_snippet():
    selected = cases()

    results = run_node("verify-standard", "standard", selected)

    assert dict(zip([c[0] for c in selected], results, strict=True)) == {
        c[0]: c[4] for c in selected
    }


def test_the_documented_test_vector_is_what_jopay_signs():
    """The worked example on /docs/events/ is a real signature: the headers
    JoPay would send for that secret, body and time, in both schemes, and the
    Python snippet (its clock set to the example's time) accepts it."""
    lines = one_block("events", lang="text", data_vector="signature").code
    vector = {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in lines.splitlines())
    }
    secret, body = vector["secret"], vector["raw body"].encode()
    at = int(vector["webhook-timestamp"])
    made = signing.signature_headers(
        secrets_new_first=[secret],
        delivery_id=vector["webhook-id"],
        attempt=1,
        timestamp=at,
        body=body,
    )
    assert vector["secret (whsec_)"] == signing.standard_secret(secret)
    for name in ("x-jopay-signature", "webhook-id", "webhook-signature"):
        assert vector[name] == made[name], name
    # The header shown above the snippets is this example's too.
    shown = [b.code for b in page_blocks("events") if b.code.startswith("x-jopay")]
    assert shown == [f"x-jopay-signature: {vector['x-jopay-signature']}\n"]

    verify = python_verify("verify-jopay", "verify_jopay_signature")
    with mock.patch("time.time", return_value=at):
        assert verify(body, vector["x-jopay-signature"], secret) is True
        assert verify(body + b"\n", vector["x-jopay-signature"], secret) is False


def test_the_documented_whsec_conversion_lets_the_library_verify():
    """The hex secret the API returns, turned into ``whsec_`` as /docs/events/
    and the README show, is what a Standard Webhooks library needs (D25)."""
    secret = "33f6bb58478f7d908f9625982d05a27a04cc723a95fd08881e910fec672d3792"
    whsec = python_verify("whsec", "whsec")
    assert whsec(secret) == signing.standard_secret(secret)
    headers = signing.signature_headers(
        secrets_new_first=[secret],
        delivery_id=DELIVERY_ID,
        attempt=1,
        timestamp=int(time.time()),
        body=BODY,
    )
    Webhook(whsec(secret)).verify(BODY, headers)

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = [b for b in readme.split("```python\n")[1:] if "standardwebhooks" in b]
    run = {"SECRET_HEX": secret, "raw_body": BODY}
    exec(block.split("```")[0], run | {"request": SimpleNamespace(headers=headers)})  # noqa: S102
    with pytest.raises(WebhookVerificationError):
        exec(  # noqa: S102
            block.split("```")[0],
            run
            | {"raw_body": BODY + b" ", "request": SimpleNamespace(headers=headers)},
        )


def test_python_snippets_refuse_a_timestamp_past_ints_digit_limit():
    """Anyone can post to a partner's webhook URL: a timestamp of 5 000 ASCII
    digits passes isdigit() and made int() raise (Python refuses more than
    4 300 digits), so the copied verifier answered 500, not False (D25)."""
    secret = signing.secret_new()
    stamp = "1" * 5000
    verify_jopay = python_verify("verify-jopay", "verify_jopay_signature")
    verify_standard = python_verify("verify-standard", "verify_standard_webhook")
    standard = {
        "webhook-id": DELIVERY_ID,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1,AAAA",
    }

    assert verify_jopay(BODY, "v1=00,t=" + stamp, secret) is False
    assert verify_standard(BODY, standard, secret) is False


def test_node_x_jopay_signature_snippet_refuses_junk_without_raising():
    """Anyone can post to a partner's webhook URL: a header whose v1 has no
    "=" (``t=<now>,v1``) made ``Buffer.from(undefined)`` throw, and a missing
    header (``req.get()`` answers undefined) threw on ``header.split``, so an
    Express receiver copied from /docs/events/ answered 500, not 4xx (D25)."""
    now = str(int(time.time()))
    junk = [
        {"x-jopay-signature": f"t={now},v1"},
        {"x-jopay-signature": f"v1,t={now}"},
        {},  # no x-jopay-signature header at all
        {"x-jopay-signature": ""},
    ]
    selected = [
        (f"junk {i}", BODY, hdrs, signing.secret_new(), False)
        for i, hdrs in enumerate(junk)
    ]

    assert run_node("verify-jopay", "jopay", selected) == [False] * len(junk)
