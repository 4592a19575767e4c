"""Wait for pytest-django's live server to finish its requests before a
transactional test's flush.

A page still polling when its test ends (the pay page's status script) has
a request in the live server's thread while the flush's TRUNCATE takes its
locks: the two deadlocked, and PostgreSQL failed the flush (a teardown error,
then the next test met the rows left behind). The live server runs in this
process, so its WSGI app is wrapped to count the requests in flight, from the
call until the answer is closed (where Django ends the request and closes its
database connection).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

IDLE_TIMEOUT = 10.0  # a request still running after this is left to its fate
SETTLE = 0.1  # a request sent just before the page closed gets this to start


class _CountingApp:
    def __init__(self, app: Callable) -> None:
        self.app = app
        self.busy = 0
        self.changed = threading.Condition()

    def _add(self, n: int) -> None:
        with self.changed:
            self.busy += n
            self.changed.notify_all()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        self._add(1)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._add(-1)
            raise
        return _Closing(result, lambda: self._add(-1))

    def wait_idle(self) -> None:
        deadline = time.monotonic() + IDLE_TIMEOUT
        while True:
            with self.changed:
                self.changed.wait_for(
                    lambda: self.busy == 0, max(deadline - time.monotonic(), 0)
                )
            time.sleep(SETTLE)
            if self.busy == 0 or time.monotonic() > deadline:
                return


class _Closing:
    """The app's answer, with ``close`` also marking the request done."""

    def __init__(self, result: Any, done: Callable[[], None]) -> None:
        self.result, self.done = result, done

    def __iter__(self):
        return iter(self.result)

    def __len__(self) -> int:  # wsgiref sets Content-Length from it when it can
        return len(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


def counting(live_server: Any) -> _CountingApp:
    """The live server's app, wrapped once (the server lives for the session)."""
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    if not isinstance(app, _CountingApp):
        app = _CountingApp(app)
        httpd.set_app(app)
    return app
