"""Uploads are recognised by their content and size-limited; media URLs are signed and expire."""

import time

import pytest

from core.extensions import db
from core.messaging import attachments as files
from core.messaging.attachments import AttachmentError, Upload
from tests.compose.files import FRAME, jpeg, mp3, pdf, png, wav


def test_recordings_are_recognised_by_content(app):
    assert files.check_audio([Upload("message.bin", mp3())])[0].content_type == "audio/mpeg"
    assert files.check_audio([Upload("x.mp3", wav())])[0].content_type == "audio/wav"
    bare = FRAME + b"\x00" * 413 + FRAME + b"\x00" * 413  # MP3 without an ID3 tag
    assert files.check_audio([Upload("bare.mp3", bare)])[0].content_type == "audio/mpeg"


@pytest.mark.parametrize("data", [
    b"This is a text file renamed to .mp3",
    b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + b"not a frame",
    FRAME + b"\x01" * 1000,  # one lucky frame header, then no second frame where it must be
    png(),
])
def test_an_mp3_that_is_not_audio_is_refused(app, data):
    with pytest.raises(AttachmentError) as refused:
        files.check_audio([Upload("song.mp3", data)])
    assert str(refused.value) == (
        "“song.mp3” is not an MP3 or WAV recording (checked by its content, not its name)."
    )


def test_a_recording_over_5_mb_is_refused(app):
    with pytest.raises(AttachmentError,
                       match="“long.mp3” is 5.6 MB; a recording may be at most 5.0 MB"):
        files.check_audio([Upload("long.mp3", mp3(frames=14000))])


def test_pictures_limits(app):
    assert [c.content_type for c in files.check_images([Upload("a.png", png()),
                                                        Upload("b", jpeg())])] == [
        "image/png", "image/jpeg"]
    with pytest.raises(AttachmentError, match="“big.jpg” is 601 KB; a picture in a text message "
                                              "may be at most 600 KB"):
        files.check_images([Upload("big.jpg", jpeg(601 * 1024))])
    with pytest.raises(AttachmentError, match="at most 3 pictures"):
        files.check_images([Upload(f"{i}.png", png()) for i in range(4)])
    with pytest.raises(AttachmentError, match="not a JPEG, PNG or GIF picture"):
        files.check_images([Upload("doc.png", pdf())])


def test_email_files_limits(app):
    checked = files.check_files([Upload("a.pdf", pdf()), Upload("notes.txt", "Grüße\n".encode())])
    assert [c.content_type for c in checked] == ["application/pdf", "text/plain"]
    with pytest.raises(AttachmentError, match="not a PDF, JPEG, PNG or plain-text file"):
        files.check_files([Upload("tool.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 50)])
    with pytest.raises(AttachmentError, match="may be at most 5.0 MB"):
        files.check_files([Upload("huge.pdf", pdf(5 * files.MB + 1))])
    three = [Upload(f"{i}.pdf", pdf(4 * files.MB)) for i in range(3)]
    with pytest.raises(AttachmentError, match="total 12.0 MB; an email may carry at most 10.0 MB"):
        files.check_files(three)


def _stored(kind_check, upload) -> files.Attachment:
    [row] = files.store(None, kind_check([upload]))
    db.session.commit()
    return row


def test_a_signed_url_serves_the_file(app, client):
    row = _stored(files.check_images, Upload("photo.png", png(300)))
    url = files.signed_url(row)
    assert url.startswith("http://127.0.0.1:5000/media/")
    response = client.get(url.removeprefix("http://127.0.0.1:5000"))
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "inline; filename=photo.png"
    assert response.data == png(300)


def test_files_download_with_their_name(app, client):
    row = _stored(files.check_files, Upload("Price list.pdf", pdf()))
    response = client.get(f"/media/{files.token_for(row.id)}")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Price list.pdf" in response.headers["Content-Disposition"]


def test_a_tampered_or_foreign_token_is_404(app, client):
    row = _stored(files.check_audio, Upload("hello.wav", wav()))
    token = files.token_for(row.id)
    assert client.get(f"/media/{token[:-2]}xx").status_code == 404
    assert client.get("/media/not-a-token").status_code == 404
    app.config["SECRET_KEY"] = "another-key"
    assert client.get(f"/media/{token}").status_code == 404


def test_a_url_older_than_7_days_is_404(app, client):
    row = _stored(files.check_audio, Upload("hello.wav", wav()))
    now = int(time.time())
    six_days, eight_days = now - 6 * 86400, now - 8 * 86400
    assert client.get(f"/media/{files.token_for(row.id, issued_at=six_days)}").status_code == 200
    assert client.get(f"/media/{files.token_for(row.id, issued_at=eight_days)}").status_code == 404


def test_urls_for_a_broadcast(app, make_client):
    from core.messaging.models import Broadcast

    broadcast = Broadcast(channel="voice", body="", recipients={"client_id": make_client().id})
    db.session.add(broadcast)
    db.session.flush()
    files.store(broadcast.id, files.check_audio([Upload("a.mp3", mp3())]))
    db.session.commit()
    media, audio = files.urls_for_broadcast(broadcast.id)
    assert media == () and audio.startswith("http://127.0.0.1:5000/media/")
    assert files.from_url(audio).filename == "a.mp3"
