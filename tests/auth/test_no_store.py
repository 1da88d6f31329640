"""Staff pages hold personal data: no browser or proxy may keep a copy of a signed-in page."""

import pytest

from core.auth.models import Role


@pytest.mark.parametrize("path", ["/compose/", "/clients", "/appointments", "/messages/outbox",
                                  "/messages/inbox", "/conversations/", "/simulator/",
                                  "/admin/users"])
def test_signed_in_pages_are_never_stored(client_for, path):
    response = client_for(Role.ADMIN).get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_htmx_fragments_are_never_stored(client_for):
    response = client_for(Role.READ_ONLY).get("/messages/outbox", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)  # a fragment, not the page
    assert response.headers["Cache-Control"] == "no-store"


def test_the_sign_in_page_and_static_files_keep_their_caching(client):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    script = client.get("/static/vendor/htmx.min.js")
    assert "no-store" not in script.headers.get("Cache-Control", "")
