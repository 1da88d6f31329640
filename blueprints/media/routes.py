"""Attachment files behind signed, expiring URLs (providers fetch MMS pictures and recordings)."""

from flask import abort, send_file

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
