"""In Chromium: a phone shows new texts by itself, without stealing the reply box, and replies."""

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Message
from core.providers.base import Outgoing
from core.simulator.phones import phone_key
from core.simulator.provider import SimulatorProvider
from tests.browser.conftest import CHROMIUM, screenshot
from tests.simulator.pictures import real_png

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


def _deliver(to, body, channel="sms", **fields):
    SimulatorProvider().send(Outgoing(message_id=1, channel=channel, to=to, body=body, **fields))
    db.session.commit()


def test_new_texts_appear_while_typing_and_the_reply_lands(signed_in, live_server, make_client):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    make_client(first_name="Bob", last_name="Stone", email="bob@example.com")
    _deliver(ann.mobile, "Reminder: check-up tomorrow at 9:00. Reply YES to confirm.",
             sender="+12025559999")
    _deliver("bob@example.com", "We are closed today because of snow.", channel="email",
             subject="Snow day")
    _deliver("+12025550002", "Your technician is on the way.", channel="voice")
    page = signed_in(Role.EDIT)
    refused = []
    page.on("console", lambda msg: refused.append(msg.text)
            if "Content Security Policy" in msg.text else None)

    page.goto(f"{live_server}/simulator/")
    phone = page.locator(f"#phone-{phone_key(ann.mobile)}")
    expect(phone.locator(".bubble.in")).to_have_count(1)
    box = phone.get_by_label("Reply")
    box.click()
    box.type("Yes, see you")

    _deliver(ann.mobile, "Please bring your insurance card.", sender="+12025559999")
    expect(phone.locator(".bubble.in")).to_have_count(2, timeout=10_000)
    expect(box).to_be_focused()
    expect(box).to_have_value("Yes, see you")
    assert refused == []  # checked before the screenshot, whose caret-hiding style CSP blocks
    screenshot(page, "simulator")

    box.type(" then!")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator(".bubble.out")).to_contain_text("Yes, see you then!", timeout=10_000)
    expect(phone.get_by_label("Reply")).to_have_value("")
    reply = db.session.scalar(select(Message).where(Message.direction == "in"))
    assert (reply.client_id, reply.body) == (ann.id, "Yes, see you then!")


def test_a_picture_from_the_phone_reaches_the_conversation(signed_in, live_server, make_client,
                                                           run_worker, tmp_path):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    _deliver(ann.mobile, "Can you send us a photo of the leak?", sender="+12025559999")
    picture = tmp_path / "leak.png"
    picture.write_bytes(real_png(48, 32))
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/simulator/phone/{ann.mobile}")
    phone = page.locator(f"#phone-{phone_key(ann.mobile)}")
    phone.get_by_label("Reply").fill("Here it is")
    phone.get_by_label("Attach a picture or file").set_input_files(str(picture))
    phone.get_by_role("button", name="Send").click()
    sent = phone.locator(".bubble.out", has_text="Here it is")
    expect(sent.locator("img.sim-media")).to_have_count(1, timeout=10_000)
    # The phone draws its own picture (the stored file, served back).
    expect(sent.locator("img.sim-media")).to_have_js_property("naturalWidth", 48)

    run_worker()  # the inbound drain
    page.goto(f"{live_server}/conversations/{ann.id}")
    bubble = page.locator(".conv-bubble.in", has_text="Here it is")
    expect(bubble.locator("img.received-picture")).to_have_js_property("naturalWidth", 48)
