"""The statements of ``claims``' PostgreSQL form: claim, release and result.

Kept apart from the code that runs them; ``claims`` documents the guarantees.
Table names are ``{placeholders}``, filled in once per process (``claims._sql``).
"""

# ``relaxed`` is referenced from each WHERE so PostgreSQL evaluates it: a
# transaction-local setting that is still in force when the statement's own
# implicit transaction commits.
CLAIM_SQL = """
WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
probe AS (
    UPDATE {endpoint} SET probe_until = %(lease)s
     WHERE id = (SELECT endpoint_id FROM {delivery}
                  WHERE id = %(id)s AND state = 'pending'
                    AND next_attempt_at <= %(now)s
                    AND (locked_until IS NULL
                         OR (locked_until <= %(now)s AND attempts < %(tries)s)))
       AND (failing_since IS NOT NULL OR slow_since IS NOT NULL)
       AND (probe_until IS NULL OR probe_until <= %(now)s)
       AND (SELECT v FROM relaxed) IS NOT NULL
 RETURNING id
),
claimed AS (
    UPDATE {delivery} SET attempts = attempts + 1, locked_until = %(lease)s,
                          updated_at = %(now)s
     WHERE id = %(id)s AND state = 'pending' AND next_attempt_at <= %(now)s
       AND (locked_until IS NULL
            OR (locked_until <= %(now)s AND attempts < %(tries)s))
       AND (SELECT v FROM relaxed) IS NOT NULL
       AND (EXISTS (SELECT 1 FROM probe)
            OR NOT EXISTS (SELECT 1 FROM {endpoint} f
                            WHERE f.id = {delivery}.endpoint_id
                              AND (f.failing_since IS NOT NULL
                                   OR f.slow_since IS NOT NULL)))
 RETURNING id, attempts, event_id, endpoint_id
), logged AS (
    INSERT INTO {attempt} (delivery_id, number, started_at, error, response_body)
    SELECT id, attempts, %(now)s, %(interrupted)s, '' FROM claimed
 RETURNING id
)
SELECT c.attempts, (SELECT id FROM logged), e.payload, ep.id, ep.url, ep.secret,
       ep.previous_secret, ep.enabled, ep.failing_since, (SELECT id FROM probe)
  FROM (SELECT 1) AS one
  LEFT JOIN claimed c ON true
  LEFT JOIN {endpoint} ep ON ep.id = c.endpoint_id
  LEFT JOIN {event} e ON e.id = c.event_id
"""

# A claim can take the endpoint's lease and then match no delivery: the row
# changed while the claim waited on the endpoint (a disable, a resend, a
# purge). Given back at once, instead of idling the endpoint for a lease.
RELEASE_SQL = """
UPDATE {endpoint} SET probe_until = NULL
 WHERE id = %(endpoint_id)s AND probe_until = %(lease)s
"""

RESULT_SQL = """
WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS v),
cleared AS (
    -- One UPDATE for both: a statement may change a row only once. It runs
    -- before ``moved`` (referenced there): the endpoint row is locked before
    -- the delivery row, the order of the claim, an endpoint disable and a URL
    -- change; the other order deadlocked with them.
    -- A 2xx also says whether the endpoint is slow: ``slow_since`` is set
    -- (kept if set) by a slow one, cleared by a faster one. The endpoint row
    -- is written only when something changes: a healthy endpoint's fast 2xx
    -- writes nothing here.
    UPDATE {endpoint}
       SET failing_since = CASE WHEN %(clear_streak)s AND url = %(url)s
                                THEN NULL ELSE failing_since END,
           slow_since = CASE WHEN NOT (%(clear_streak)s AND url = %(url)s)
                             THEN slow_since
                             WHEN %(slow)s THEN COALESCE(slow_since, %(now)s)
                             ELSE NULL END,
           -- Its own lease, and a ``Retry-After`` hold of the streak a 2xx
           -- ends (the hold would otherwise outlive it on a slow endpoint).
           probe_until = CASE WHEN probe_until = %(lease)s THEN NULL
                              WHEN %(clear_streak)s AND url = %(url)s
                                   AND failing_since IS NOT NULL THEN NULL
                              ELSE probe_until END
     WHERE id = %(endpoint_id)s
       AND ((%(clear_streak)s
             AND (failing_since IS NOT NULL OR (slow_since IS NULL) = %(slow)s)
             AND url = %(url)s)
            OR probe_until = %(lease)s)
       AND (SELECT v FROM relaxed) IS NOT NULL
 RETURNING id
), logged AS (
    UPDATE {attempt} SET status_code = %(status_code)s, latency_ms = %(latency_ms)s,
                         error = %(error)s, response_body = %(response_body)s
     WHERE id = %(attempt_row_id)s AND error = %(interrupted)s
       AND (SELECT v FROM relaxed) IS NOT NULL
 RETURNING id
), moved AS (
    UPDATE {delivery} SET state = %(state)s, next_attempt_at = %(next_attempt_at)s,
                          locked_until = NULL, last_status_code = %(status_code)s,
                          abandoned_reason = %(abandoned_reason)s,
                          delivered_at = COALESCE(%(delivered_at)s, delivered_at),
                          enqueued_at = COALESCE(%(enqueued_at)s, enqueued_at),
                          updated_at = %(now)s
     WHERE id = %(delivery_id)s AND attempts = %(attempt)s
       AND (locked_until = %(lease)s
            OR (%(state)s = 'delivered' AND state = 'abandoned'
                AND abandoned_reason = %(disabled_reason)s))
       AND (%(state)s = 'delivered'
            OR EXISTS (SELECT 1 FROM {endpoint}
                        WHERE id = %(endpoint_id)s AND url = %(url)s))
       AND (SELECT v FROM relaxed) IS NOT NULL
       AND (SELECT count(*) FROM cleared) IS NOT NULL
 RETURNING id
)
SELECT (SELECT count(*) FROM logged), (SELECT count(*) FROM moved),
       (SELECT count(*) FROM cleared)
"""
