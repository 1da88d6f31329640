"""The counts a large send shows before it goes (SQL) agree with what the fan-out plans, when
clients have several selected appointments and are skipped for different reasons."""

from datetime import UTC, datetime, timedelta

import pytest

from core.clients.models import ContactMethod
from core.messaging.models import Broadcast, Channel
from core.messaging.recipients import ONE_PER_CLIENT, count_reachable, plan, summarize

BODY = "Hi {{ first_name }}, see you {{ appointment_date }}"


@pytest.fixture
def crowd(make_client, make_appointment):
    """Three fine clients, one opted out, one without a mobile, one Do Not Contact, one who
    wants email; each with two appointments, selected in an interleaved order."""
    people = [make_client(first_name=f"Fine{i}") for i in range(3)]
    people += [make_client(opted_out=True), make_client(mobile=None),
               make_client(contact_method=ContactMethod.DO_NOT_CONTACT.value),
               make_client(contact_method=ContactMethod.EMAIL.value)]
    firsts = [make_appointment(client=c).id for c in people]
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    seconds = [make_appointment(client=c, start_at=later).id for c in people]
    return [i for pair in zip(seconds, firsts, strict=True) for i in pair]


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL, Channel.VOICE])
@pytest.mark.parametrize("per_client", [True, False])
def test_sql_counts_match_the_plan_for_clients_with_several_appointments(
        app, crowd, channel, per_client):
    options = {ONE_PER_CLIENT: True} if per_client else {}
    draft = Broadcast(channel=channel.value, subject="Notice", body=BODY,
                      recipients={"appointment_ids": crowd}, options=options)
    planned = summarize(plan(draft))
    counted = count_reachable(channel, crowd, per_client=per_client)
    assert (counted.total, counted.sendable, dict(counted.skipped)) == \
        (planned.total, planned.sendable, dict(planned.skipped))
    assert counted.total == (7 if per_client else 14)


def test_each_client_is_counted_once_for_each_reason(app, crowd):
    counted = count_reachable(Channel.SMS, crowd, per_client=True)
    assert dict(counted.skipped) == {"Opted out": 1, "No mobile number": 1, "Do Not Contact": 1}
    assert counted.sendable == 4  # three by text, one by email (their contact method)
