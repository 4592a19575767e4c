"""The API through a Redis outage, over real HTTP: gunicorn's rate-limit
counters live in a redis-server of the drill's own, which is killed and later
started again, empty. While it is down every create and list is served (201 /
200, never a 5xx), uncounted and without rate-limit headers; once it is back,
counting resumes in the same processes (jopay_project/ratelimits.py)."""

from __future__ import annotations

import pytest
import requests

from payments.models import PaymentRequest
from tests.live import child_env, gunicorn

pytestmark = pytest.mark.live


def test_api_serves_through_a_redis_outage_and_counts_again_after(
    live_partner, live_merchant, live_key, throwaway_redis
):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {live_key}"
    amounts = iter(range(2500, 3000))

    def create() -> requests.Response:
        body = {"merchant_id": str(live_merchant.pk), "fiat_amount_int": next(amounts)}
        return session.post(f"{base}/api/v1/requests/create", json=body, timeout=30)

    with gunicorn(workers=2, env=child_env(REDIS_URL=throwaway_redis.url)) as base:
        before = [create() for _ in range(4)]
        throwaway_redis.kill()
        during = [create() for _ in range(10)]
        during.append(session.get(f"{base}/api/v1/requests", timeout=30))
        throwaway_redis.start()  # empty: the counters start over
        after = [create() for _ in range(8)]

    assert [r.status_code for r in before] == [201] * 4
    assert all("X-RateLimit-Remaining" in r.headers for r in before)
    assert [r.status_code for r in during] == [201] * 10 + [200]
    assert not any("X-RateLimit-Limit" in r.headers for r in during)
    assert [r.status_code for r in after] == [201] * 8
    # Each worker's pooled connection died with the server: at most its first
    # call after the restart finds out (served uncounted); then it reconnects.
    counted = [r for r in after if "X-RateLimit-Remaining" in r.headers]
    assert len(counted) >= len(after) - 2, [dict(r.headers) for r in after]
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in counted]
    assert all(n >= 100000 - 8 for n in remaining), remaining  # a fresh window
    assert PaymentRequest.objects.filter(partner=live_partner).count() == 22
