"""Simulator pages: the phones, one phone, its polled thread, and the reply box."""

from zoneinfo import ZoneInfo

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from blueprints.access import requires
from blueprints.rendering import is_htmx, render
from blueprints.simulator import bp
from blueprints.simulator.forms import ReplyForm
from core.auth.models import Role
from core.messaging import attachments as files
from core.secure.operations import mask_links
from core.simulator import phones
from core.simulator.operations import MAX_MEDIA, check_attachment, send_reply

UPLOAD_LIMIT = MAX_MEDIA + 64 * files.KB  # one file of the largest size, plus the form itself


@bp.app_template_filter("sim_time")
def sim_time(value) -> str:
    """A UTC timestamp in the business time zone, short (e.g. 'Mar 4, 09:05')."""
    local = value.astimezone(ZoneInfo(current_app.config["BUSINESS_TIMEZONE"]))
    return f"{local:%b} {local.day}, {local:%H:%M}"


@bp.app_template_filter("sim_body")
def sim_body(text: str | None) -> str:
    """A received text as this viewer may see it: a working secure link only for the roles
    that could send one anyway (Edit, Admin); Read Only sees the link masked."""
    return (text or "") if current_user.can(Role.EDIT) else mask_links(text)


@bp.route("/")
@requires(Role.READ_ONLY)
def index():
    """The phones with recent traffic; `q` opens a number, an address, or finds clients."""
    q = request.args.get("q", "").strip()[:100]
    address = phones.normalize_address(q, current_app.config["DEFAULT_REGION"]) if q else None
    if address:
        return redirect(url_for(".phone", address=address))
    matches = phones.find_clients(q) if q else []
    grid = [
        (phone, ReplyForm(prefix=phone.key, formdata=None, channel=phone.channel))
        for phone in phones.recent_phones()
    ]
    delay = current_app.config.get("SIMULATOR_RECEIPT_DELAY", 1)
    return render("simulator/index.html", "simulator/_phones.html", grid=grid, q=q,
                  matches=matches, receipt_delay=delay, grid_size=phones.GRID_SIZE)


@bp.route("/phone/<path:address>")
@requires(Role.READ_ONLY)
def phone(address):
    """One phone (or mailbox): everything it received and sent, and a reply box."""
    phone = phones.load_phone(_address_or_404(address))
    form = ReplyForm(prefix=phone.key, formdata=None, channel=phone.channel)
    return render("simulator/phone.html", "simulator/_phone.html", phone=phone, form=form)


@bp.route("/thread/<path:address>")
@requires(Role.READ_ONLY)
def thread(address):
    """The polled thread of one phone; 204 (nothing to swap) while no newer message exists."""
    phone = phones.load_phone(_address_or_404(address), with_client=False)
    if not is_htmx():
        return redirect(url_for(".phone", address=phone.address))
    if phone.last_id == request.args.get("after", -1, type=int):
        return "", 204
    return render_template("simulator/_thread.html", phone=phone)


@bp.route("/reply/<path:address>", methods=["POST"])
@requires(Role.EDIT)
def reply(address):
    """Send a reply as the client (with a picture or file, as an MMS); it travels through the
    simulator's inbound webhook code."""
    address = _address_or_404(address)
    request.max_content_length = UPLOAD_LIMIT
    try:
        form = ReplyForm(prefix=phones.phone_key(address), channel=phones.Phone(address).channel)
    except RequestEntityTooLarge:
        form = ReplyForm(prefix=phones.phone_key(address), formdata=None,
                         channel=phones.Phone(address).channel)
        form.attachment.errors = [f"The file is larger than {MAX_MEDIA // files.MB} MB, the "
                                  "most a picture message may carry."]
        return _phone_page(address, form), 413
    attachment = None
    if form.validate_on_submit() and form.has_attachment():
        upload = form.attachment.data
        try:
            attachment = check_attachment(files.Upload(upload.filename, upload.read()))
        except files.AttachmentError as refused:
            form.attachment.errors = [str(refused)]
    if form.errors or not form.is_submitted():
        return _phone_page(address, form), 422
    send_reply(address, (form.text.data or "").strip(), (form.subject.data or "").strip(),
               attachment)
    if not is_htmx():
        return redirect(url_for(".phone", address=address), code=303)
    phone = phones.load_phone(address)
    fresh = ReplyForm(prefix=phone.key, formdata=None, channel=phone.channel)
    return render_template("simulator/_phone.html", phone=phone, form=fresh)


def _phone_page(address: str, form: ReplyForm):
    """The phone (a fragment for htmx) with the reply box as it was sent, errors included."""
    phone = phones.load_phone(address)
    return render("simulator/phone.html", "simulator/_phone.html", phone=phone, form=form)


def _address_or_404(raw: str) -> str:
    """The phone's address in canonical form; 404 for text that is no number or email."""
    address = phones.normalize_address(raw, current_app.config["DEFAULT_REGION"])
    if address is None:
        abort(404)
    return address
