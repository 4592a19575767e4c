"""How chain RPC fails: the two errors callers see, and what raises them.

Both are ``JoPayError`` so an API view that needs the chain synchronously
renders them as the registry says (the reverify API, D35); tasks treat both as
"node trouble, retry later", never as a verdict (D20):

* ``RpcUnavailable`` (503 ``rpc_unavailable``): no endpoint could be used.
* ``RpcError`` (500 ``rpc_error``): an endpoint answered, but the call failed or
  the answer was malformed.

Their messages never carry RPC URLs (they may embed provider API keys); the
detail is logged.
"""

from __future__ import annotations

import requests
from web3.exceptions import (
    BadResponseFormat,
    ProviderConnectionError,
    RequestTimedOut,
    TooManyRequests,
    Web3Exception,
)

from jopay_project.errors import ErrorCode, JoPayError

# The endpoint itself is unusable (down, timing out, rate limiting us): fail over.
UNREACHABLE = (
    requests.exceptions.RequestException,
    ProviderConnectionError,
    RequestTimedOut,
    TooManyRequests,
    BadResponseFormat,
    ConnectionError,
    TimeoutError,
)

# The endpoint took the call but did not answer in time. For most calls that
# is an unusable endpoint (in ``UNREACHABLE``); for an ``eth_getLogs`` over a
# wide range it is the range: a node that needs longer than the timeout for
# 2 000 blocks answers 100 in time (``ChainClient._call(slow_is_error=...)``).
SLOW = (requests.exceptions.ReadTimeout, RequestTimedOut)

# The endpoint answered, but with an error or with data we cannot read: web3's
# own result formatters raise all of these on a malformed answer (a block
# that is a string raises AttributeError), and so do the shape checks of
# ``logs.py`` (KeyError for a missing field, ValueError for garbage hex).
BAD_ANSWER = (
    Web3Exception,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    ArithmeticError,
)


class RpcUnavailable(JoPayError):  # noqa: N818 (names from the brief / registry)
    """No RPC endpoint of the chain is reachable, fresh and on the right chain."""

    code = ErrorCode.RPC_UNAVAILABLE

    def __init__(self, detail: str = "") -> None:
        super().__init__()
        self.detail = detail


class RpcError(JoPayError):
    """An endpoint answered, but the call failed (a JSON-RPC error, bad data)."""

    code = ErrorCode.RPC_ERROR

    def __init__(self, detail: str = "") -> None:
        super().__init__()
        self.detail = detail
