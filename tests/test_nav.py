"""The navigation marks exactly the page you are on."""

import re

from core.auth.models import Role


def _current(html: str) -> list[str]:
    nav = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', nav)


def test_only_the_open_mailbox_link_is_current(client_for):
    client = client_for(Role.ADMIN)
    assert _current(client.get("/messages/inbox").get_data(as_text=True)) == ["Inbox"]
    assert _current(client.get("/messages/outbox").get_data(as_text=True)) == ["Outbox"]


def test_read_only_staff_see_no_admin_links(client_for):
    html = client_for(Role.READ_ONLY).get("/clients/").get_data(as_text=True)
    assert ">Clients</a>" in html
    assert ">Settings</a>" not in html and ">Users</a>" not in html and ">Compose</a>" not in html
