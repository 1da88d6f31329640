"""The simulator holds the notice as the client's phone got it, working link included: only
staff who could send a secure message (Edit, Admin) see that link; Read Only sees it masked."""

import pytest

from core.auth.models import Role
from core.secure.operations import MASK


def _pages(staff, sent) -> list[str]:
    """Every simulator view of the phone that got the notice: grid, phone, polled thread."""
    address = sent.notice.address
    return [
        staff.get("/simulator/").get_data(as_text=True),
        staff.get(f"/simulator/phone/{address}").get_data(as_text=True),
        staff.get(f"/simulator/thread/{address}", headers={"HX-Request": "true"}
                  ).get_data(as_text=True),
    ]


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_read_only_staff_see_the_link_masked(client_for, send_secure, channel):
    sent = send_secure(channel=channel)
    for page in _pages(client_for(Role.READ_ONLY), sent):
        assert sent.token not in page
        assert f"/s/{MASK}" in page


@pytest.mark.parametrize("role", [Role.EDIT, Role.ADMIN])
def test_editors_and_admins_see_the_working_link(client_for, send_secure, role):
    sent = send_secure()
    for page in _pages(client_for(role), sent):
        assert f"/s/{sent.token}" in page


def test_a_masked_link_opens_nothing(client, send_secure):
    send_secure()
    assert client.get(f"/s/{MASK}").status_code == 404
