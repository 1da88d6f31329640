"""Portal routes: every answer is no-store, noindex, no-referrer, under a strict CSP.

A dead link (expired, locked, revoked, purged or unknown) always gets the same page with the
same status, so a visitor learns nothing about which it was.
"""

import os

from flask import current_app, make_response, redirect, render_template, request, session, url_for

from blueprints.access import public
from blueprints.portal import bp
from blueprints.portal.forms import PinForm, ReplyForm, RequestLinkForm, RevealForm
from core.extensions import limiter
from core.secure import portal as portal_ops
from core.secure.operations import SecureError, find
from core.types import utcnow

PORTAL_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'")
GRANTS = "secure_grants"  # session: secure message id -> token hash unlocked in this browser


@bp.after_app_request
def portal_headers(response):
    """Every response under /s/ (errors included): never cached, indexed or referred."""
    if request.path == "/s" or request.path.startswith("/s/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = PORTAL_CSP
    return response


def _live(token: str):
    """The secure message of a token while its link still opens, else None."""
    found = find(token)
    return found if found is not None and found.usable(utcnow()) else None


def _gone(token: str):
    return render_template("portal/gone.html", token=token, form=RequestLinkForm()), 404


def _granted(secure) -> bool:
    return session.get(GRANTS, {}).get(str(secure.id)) == secure.token_hash


def _grant(secure) -> None:
    grants = dict(session.get(GRANTS, {}))
    grants[str(secure.id)] = secure.token_hash
    session[GRANTS] = grants


def _pin_limit() -> str:
    """PIN attempts per IP, across all links (PORTAL_PIN_RATE_LIMIT overrides)."""
    return (current_app.config.get("PORTAL_PIN_RATE_LIMIT")
            or os.environ.get("PORTAL_PIN_RATE_LIMIT") or "10 per minute;40 per hour")


@bp.route("/<token>")
@public
def landing(token: str):
    """The page the link opens: only a "tap to reveal" button (no content, no PIN yet)."""
    secure = _live(token)
    if secure is None:
        return _gone(token)
    portal_ops.mark_opened(secure)
    return render_template("portal/landing.html", token=token, form=RevealForm())


@bp.route("/<token>/reveal", methods=["POST"])
@public
def reveal(token: str):
    """A person tapped reveal: the PIN form, or the message when there is no PIN."""
    secure = _live(token)
    if secure is None or not RevealForm().validate():
        return _gone(token) if secure is None else redirect(url_for(".landing", token=token))
    portal_ops.reveal(secure)
    if secure.pin_hash and not _granted(secure):
        return render_template("portal/pin.html", token=token, form=PinForm(formdata=None))
    _grant(secure)
    return redirect(url_for(".message", token=token), code=303)


@bp.route("/<token>/pin", methods=["POST"])
@public
@limiter.limit(_pin_limit, methods=["POST"])
def pin(token: str):
    """Check the PIN: the message, a neutral refusal with attempts left, or the dead-link page."""
    secure = _live(token)
    if secure is None:
        return _gone(token)
    if not secure.pin_hash:  # nothing to guess: no failure may count against the link
        return redirect(url_for(".landing", token=token), code=303)
    form = PinForm()
    if not form.validate():
        return render_template("portal/pin.html", token=token, form=form), 422
    result = portal_ops.try_pin(secure, form.pin.data)
    if result.locked:
        return _gone(token)
    if result.busy:
        return render_template("portal/pin.html", token=token, form=PinForm(formdata=None),
                               busy=True), 429
    if not result.ok:
        return render_template("portal/pin.html", token=token, form=PinForm(formdata=None),
                               attempts_left=result.attempts_left), 422
    _grant(secure)
    return redirect(url_for(".message", token=token), code=303)


@bp.route("/<token>/message")
@public
def message(token: str):
    """The message itself, its files and the reply form (only after reveal and PIN)."""
    secure = _live(token)
    if secure is None:
        return _gone(token)
    if not _granted(secure):
        return redirect(url_for(".landing", token=token), code=303)
    content = portal_ops.read(secure)
    return render_template("portal/message.html", token=token, secure=secure, content=content,
                           form=ReplyForm(formdata=None))


@bp.route("/<token>/file/<int:file_id>")
@public
def download(token: str, file_id: int):
    """One attachment, decrypted, as a download (only after reveal and PIN)."""
    secure = _live(token)
    if secure is None or not _granted(secure):
        return _gone(token)
    found = portal_ops.file_data(secure, file_id)
    if found is None:
        return _gone(token)
    row, data = found
    response = make_response(data)
    response.headers["Content-Type"] = row.content_type
    response.headers["Content-Disposition"] = _disposition(row.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _disposition(filename: str) -> str:
    """An attachment header that survives any file name."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@bp.route("/<token>/reply", methods=["POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
def reply(token: str):
    """The client's one reply, stored as an inbound message in the Inbox."""
    secure = _live(token)
    if secure is None or not _granted(secure):
        return _gone(token)
    form = ReplyForm()
    content = portal_ops.read(secure)
    if not form.validate():
        return render_template("portal/message.html", token=token, secure=secure,
                               content=content, form=form), 422
    try:
        portal_ops.reply(secure, form.body.data)
    except SecureError as exc:
        form.body.errors = [str(exc)]
        return render_template("portal/message.html", token=token, secure=secure,
                               content=content, form=form), 422
    return redirect(url_for(".message", token=token, replied=1), code=303)


@bp.route("/<token>/request", methods=["POST"])
@public
@limiter.limit("5 per hour", methods=["POST"])
def request_link(token: str):
    """Ask for a new link: staff are told (when the token was ours); the same answer always."""
    if RequestLinkForm().validate():
        portal_ops.request_new_link(token)
    return render_template("portal/requested.html"), 200
