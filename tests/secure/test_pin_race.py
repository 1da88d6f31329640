"""Parallel PIN guesses: an attempt is reserved before the PIN is compared, so at most five
wrong PINs are ever compared on one link, however many guesses arrive at the same moment."""

import threading

import pytest

from core.extensions import db
from core.secure import portal as portal_ops
from core.secure.models import SecureMessage
from tests.secure.conftest import SECRET_TEXT

RIGHT = "4821"


@pytest.fixture
def compared(monkeypatch):
    """The PINs the real comparison was run on (a counter around the real function)."""
    seen: list[str] = []
    lock = threading.Lock()
    real = portal_ops.pin_matches

    def counting(pin_hash, pin):
        with lock:
            seen.append(pin)
        return real(pin_hash, pin)

    monkeypatch.setattr(portal_ops, "pin_matches", counting)
    return seen


def _guess_all_at_once(app, url: str, pins: list[str]) -> dict[str, int]:
    """Post every PIN from its own browser, all released at the same moment."""
    barrier = threading.Barrier(len(pins))
    answers: dict[str, int] = {}

    def guess(pin: str) -> None:
        browser = app.test_client()
        barrier.wait()
        answers[pin] = browser.post(f"{url}/pin", data={"pin": pin}).status_code

    threads = [threading.Thread(target=guess, args=(pin,)) for pin in pins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _row(sent) -> SecureMessage:
    db.session.expire_all()
    return db.session.get(SecureMessage, sent.secure.id)


def test_twenty_simultaneous_wrong_guesses_compare_at_most_five(app, send_secure, compared):
    sent = send_secure(pin=RIGHT)
    wrong = [f"{1000 + n}" for n in range(20)]
    answers = _guess_all_at_once(app, sent.url, wrong)
    assert len(answers) == 20 and 303 not in answers.values()
    assert 1 <= len(compared) <= 5
    row = _row(sent)
    if row.locked_at is None:  # guesses refused as "busy" while the last ones were compared
        for pin in wrong[:5]:
            app.test_client().post(f"{sent.url}/pin", data={"pin": pin})
        row = _row(sent)
    assert row.locked_at is not None and row.pin_failures == 5
    assert len(compared) == 5
    browser = app.test_client()
    assert browser.post(f"{sent.url}/pin", data={"pin": RIGHT}).status_code == 404
    assert len(compared) == 5  # the right PIN, after the lock, is never compared


def test_the_right_pin_among_parallel_guesses_opens_only_if_it_was_compared(
        app, send_secure, compared):
    sent = send_secure(pin=RIGHT)
    pins = [f"{2000 + n}" for n in range(19)] + [RIGHT]
    answers = _guess_all_at_once(app, sent.url, pins)
    wrong_compared = [pin for pin in compared if pin != RIGHT]
    assert len(wrong_compared) <= 5
    opened = answers[RIGHT] == 303
    assert opened == (RIGHT in compared)
    if not opened:  # the lock came first: the right PIN was refused without a comparison
        assert answers[RIGHT] in (404, 429)
    assert all(answers[pin] != 303 for pin in pins if pin != RIGHT)


def test_a_busy_link_asks_to_try_again_without_comparing(app, client, send_secure, compared):
    sent = send_secure(pin=RIGHT)
    # Five attempts in flight elsewhere: none is left for this browser until they finish.
    db.session.execute(db.update(SecureMessage).where(SecureMessage.id == sent.secure.id)
                       .values(pin_failures=5))
    db.session.commit()
    response = client.post(f"{sent.url}/pin", data={"pin": RIGHT})
    page = response.get_data(as_text=True)
    assert response.status_code == 429 and "Wait a moment and try again" in page
    assert SECRET_TEXT not in page and compared == []
    assert _row(sent).locked_at is None


def test_the_right_pin_gives_its_attempt_back(app, client, send_secure, compared):
    sent = send_secure(pin=RIGHT)
    for pin in ("1111", "2222"):
        client.post(f"{sent.url}/pin", data={"pin": pin})
    for _ in range(6):  # six readers in six browsers never use up the link
        assert app.test_client().post(f"{sent.url}/pin", data={"pin": RIGHT}).status_code == 303
    assert _row(sent).pin_failures == 2 and _row(sent).locked_at is None
