"""Attachment files behind signed, expiring URLs (providers fetch MMS pictures and recordings)."""

from flask import abort, send_file, url_for

from blueprints.access import public
from blueprints.media import bp
from core.messaging import attachments as files


@bp.route("/<token>")
@public
def serve(token: str):
    """The file a valid, unexpired token names; 404 for anything else."""
    attachment = files.from_token(token)
    if attachment is None:
        abort(404)
    path = files.path_of(attachment)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=attachment.kind == files.FILE,  # PDFs and text download; media plays
        download_name=attachment.filename,
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.app_template_global()
def media_url(attachment_id: int) -> str:
    """A signed, expiring link to one stored file (staff pages show received pictures)."""
    return url_for("media.serve", token=files.token_for(attachment_id))


@bp.app_template_global()
def received_files(messages) -> dict[int, list]:
    """The files copied in with the inbound MMS among `messages`, by message id (one query)."""
    ids = [m.id for m in messages if m.direction == "in" and m.channel == "mms"]
    return files.for_messages(ids)
