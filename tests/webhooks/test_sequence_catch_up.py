"""webhooks 0008 moves each request's event counter up to its highest stored
event (D23): an event the release before 0004 wrote after that migration
left the counter behind and every later event of the request was refused."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.db import IntegrityError, connection

from webhooks.models import RequestEventSequence

from .conftest import emit

pytestmark = pytest.mark.django_db

CATCH_UP = importlib.import_module(
    "webhooks.migrations.0008_request_event_sequence_catch_up"
).CATCH_UP


def test_a_counter_left_behind_is_moved_up_and_the_next_event_numbered(partner):
    rid, other = uuid.uuid4(), uuid.uuid4()
    for _ in range(3):
        emit(partner, request_id=rid)
    emit(partner, request_id=other)
    # What an old process did: events numbered 2 and 3 without the counter.
    RequestEventSequence.objects.filter(request_id=rid).update(last=1)
    with pytest.raises(IntegrityError):
        emit(partner, request_id=rid)  # the stuck request, before the repair

    with connection.cursor() as cursor:
        cursor.execute(CATCH_UP)
        cursor.execute(CATCH_UP)  # safe to run again
    assert emit(partner, request_id=rid).sequence == 4
    assert emit(partner, request_id=other).sequence == 2  # never moved down


def test_a_request_without_a_counter_gets_one(partner):
    rid = uuid.uuid4()
    emit(partner, request_id=rid)
    emit(partner, request_id=rid)
    RequestEventSequence.objects.filter(request_id=rid).delete()
    with connection.cursor() as cursor:
        cursor.execute(CATCH_UP)
    assert RequestEventSequence.objects.get(request_id=rid).last == 2
    assert emit(partner, request_id=rid).sequence == 3
