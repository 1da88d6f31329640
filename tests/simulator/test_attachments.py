"""The simulator's reply box can attach a picture or file: it arrives as a client's MMS would,
with the file in the attachment store, shown in the conversation and on the message page."""

import io
import re

from sqlalchemy import func, select

from core import settings
from core.auth.models import Role
from core.extensions import db
from core.messaging.attachments import Attachment
from core.messaging.models import Message, MessageEvent
from core.simulator.models import SimMessage
from core.simulator.phones import phone_key
from tests.simulator.pictures import real_png

HTMX = {"HX-Request": "true"}
ANN = "+12025550001"


def _reply(http, address, text, filename=None, data=b"", headers=None):
    key = phone_key(address)
    form = {f"{key}-text": text}
    if filename:
        form[f"{key}-attachment"] = (io.BytesIO(data), filename)
    return http.post(f"/simulator/reply/{address}", data=form, headers=headers or {},
                     content_type="multipart/form-data")


def _inbound() -> Message:
    return db.session.scalars(select(Message).where(Message.direction == "in")).one()


def test_a_picture_reply_arrives_as_an_mms_with_its_file(client_for, make_client, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile=ANN)
    http = client_for(Role.EDIT)
    picture = real_png()
    response = _reply(http, ANN, "This is the leak under the sink", "leak.png", picture,
                      headers=HTMX)
    assert response.status_code == 200
    message = _inbound()
    assert (message.channel, message.client_id) == ("mms", ann.id)
    assert message.body == "This is the leak under the sink"
    [stored] = db.session.scalars(select(Attachment).where(Attachment.message_id == message.id))
    assert (stored.filename, stored.content_type, stored.kind) == ("leak.png", "image/png",
                                                                   "image")
    kept = db.session.scalars(select(MessageEvent.detail).where(
        MessageEvent.message_id == message.id, MessageEvent.code == "media")).one()
    assert kept.startswith("leak.png kept (image/png")
    # The phone shows the picture it sent.
    phone_html = response.get_data(as_text=True)
    assert re.search(r'<img class="sim-media" src="/media/[^"]+"', phone_html)

    run_worker()  # the inbound drain, as in production
    thread = http.get(f"/conversations/{ann.id}").get_data(as_text=True)
    assert "This is the leak under the sink" in thread
    src = re.search(r'<img class="received-picture" src="([^"]+)"', thread).group(1)
    assert http.get(src).data == picture  # staff see the very bytes the client sent
    detail = http.get(f"/messages/{message.id}").get_data(as_text=True)
    assert "leak.png" in detail and "received-picture" in detail


def test_a_picture_alone_needs_no_words_and_draws_no_auto_response(client_for, make_client,
                                                                   run_worker):
    settings.set("autoreply_unrecognised", True)
    make_client(mobile=ANN)
    response = _reply(client_for(Role.EDIT), ANN, "", "photo.png", real_png())
    assert response.status_code == 303
    assert _inbound().channel == "mms"
    run_worker()  # the drain: no "Sorry, I didn't understand" goes back for a picture
    assert db.session.scalar(select(func.count(Message.id))
                             .where(Message.direction == "out")) == 0


def test_a_pdf_from_a_mailbox_is_kept_with_the_email(client_for, make_client):
    make_client(email="bob@example.com")
    response = _reply(client_for(Role.EDIT), "bob@example.com", "Signed form attached",
                      "form.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n")
    assert response.status_code == 303
    message = _inbound()
    assert message.channel == "email"
    [stored] = db.session.scalars(select(Attachment).where(Attachment.message_id == message.id))
    assert stored.content_type == "application/pdf"


def test_a_file_that_is_no_picture_or_document_is_refused(client_for, make_client):
    make_client(mobile=ANN)
    response = _reply(client_for(Role.EDIT), ANN, "see this", "holiday.png",
                      b"MZ\x90\x00" + b"\x00" * 200, headers=HTMX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "“holiday.png” is not a JPEG, PNG or GIF picture, a PDF or a plain-text file" in html
    assert db.session.scalar(select(func.count(Message.id))) == 0
    assert db.session.scalar(select(func.count(SimMessage.id))) == 0


def test_a_file_over_5_mb_is_refused(client_for, make_client):
    make_client(mobile=ANN)
    http = client_for(Role.EDIT)
    just_over = real_png() + b"\x00" * (5 * 1024 * 1024 - len(real_png()) + 1)
    response = _reply(http, ANN, "", "huge.png", just_over)
    assert response.status_code == 422
    assert "“huge.png” is larger than 5 MB" in response.get_data(as_text=True)
    far_over = real_png() + b"\x00" * (6 * 1024 * 1024)  # refused before it is even read
    response = _reply(http, ANN, "", "huger.png", far_over)
    assert response.status_code == 413
    assert "The file is larger than 5 MB" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id))) == 0
