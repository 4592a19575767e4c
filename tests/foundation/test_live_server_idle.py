"""The live-server wait before a transactional flush (tests/live_server_idle.py)
holds until every request in flight has ended, answer closed included."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.live_server_idle import _CountingApp, counting


def _ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_wait_idle_holds_until_the_answer_is_closed():
    release = threading.Event()

    def slow(environ, start_response):
        release.wait(5)
        return _ok(environ, start_response)

    app = _CountingApp(slow)
    answers: list = []
    caller = threading.Thread(target=lambda: answers.append(app({}, lambda *a: None)))
    caller.start()
    time.sleep(0.2)
    waited: list[float] = []
    waiter = threading.Thread(target=lambda: (app.wait_idle(), waited.append(1)))
    waiter.start()
    time.sleep(0.3)
    assert waited == []  # the view is still running
    release.set()
    caller.join(5)
    assert list(answers[0]) == [b"ok"]
    time.sleep(0.3)
    assert waited == []  # answered but not closed: Django's request is not over
    answers[0].close()
    waiter.join(5)
    assert waited == [1]
    assert app.busy == 0


def test_a_failing_app_is_not_left_counted():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    app = _CountingApp(broken)
    with pytest.raises(RuntimeError):
        app({}, lambda *a: None)
    assert app.busy == 0


def test_the_live_server_answers_through_the_wrapper(live_server, db):
    app = counting(live_server)
    assert counting(live_server) is app  # wrapped once
    answer = requests.get(f"{live_server.url}/healthz", timeout=10)
    assert answer.status_code == 200
    app.wait_idle()
    assert app.busy == 0
