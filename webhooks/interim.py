"""Interim 1xx answers skipped on the way to the final answer (RFC 9110 §15.2).

Used by ``transport``'s pinned connections as their ``response_class``.
"""

from __future__ import annotations

import http.client

# http.client's own limits on a head's lines.
_MAX_LINE = 65536
_MAX_HEADERS = 100


class FinalResponse(http.client.HTTPResponse):
    """An answer whose informational 1xx heads (102, 103 …) are skipped.

    HTTP has a client skip them and read on to the final answer (RFC 9110
    §15.2); ``http.client`` skips only ``100 Continue``. A ``103 Early
    Hints`` was taken as the final answer: the delivery was retried although
    the receiver answered 200, and that 200, left on the kept-alive
    connection, was read as the answer to the next delivery to the host (a
    delivery answered 500 ended ``delivered``). ``101`` stays final (nothing
    here asks to switch protocols). ``cut_off_at`` bounds a receiver that
    sends 1xx heads for ever.
    """

    def _read_status(self):
        while True:
            version, status, reason = super()._read_status()
            if not 102 <= status < 200:
                return version, status, reason  # ``begin`` skips a 100 itself
            self._skip_head()

    def _skip_head(self) -> None:
        for _ in range(_MAX_HEADERS + 1):
            line = self.fp.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            if line in (b"\r\n", b"\n", b""):
                return
        raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
