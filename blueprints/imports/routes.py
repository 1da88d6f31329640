"""Import pages: upload a file, preview every row, then confirm to write them all at once."""

from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, redirect, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.imports import bp
from blueprints.imports.forms import ConfirmForm, UploadForm
from blueprints.rendering import is_htmx, render
from core.appointments import importing
from core.appointments.importing import preferences
from core.auth.models import Role
from core.extensions import db


def _upload_page(form: UploadForm, status: int = 200):
    return render("imports/index.html", "imports/_upload.html", form=form,
                  zone=current_app.config["BUSINESS_TIMEZONE"]), status


def _preview_page(upload: importing.Preview, status: int, notice: str = ""):
    zone = ZoneInfo(current_app.config["BUSINESS_TIMEZONE"])

    def local(value) -> str:
        return value.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") if value else ""

    return render("imports/preview.html", "imports/_preview.html", upload=upload,
                  form=ConfirmForm(token=upload.token), local=local,
                  notice=notice, zone=zone.key), status


def _after_import_url() -> str:
    """The appointments list when that page exists, else the import page."""
    if "appointments.index" in current_app.view_functions:
        return url_for("appointments.index")
    return url_for("imports.index")


def _go(url: str):
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url, code=303)


@bp.route("/")
@requires(Role.EDIT)
def index():
    """The upload form with the expected columns and a template to download."""
    return _upload_page(UploadForm(own_addresses=preferences.own_addresses()))


@bp.route("/preview", methods=["POST"])
@requires(Role.EDIT)
def preview():
    """Parse the uploaded file and show every row with its errors; nothing is written."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 422)
    upload = form.file.data
    own = preferences.remember_own_addresses(form.own_addresses.data)
    db.session.commit()
    options = preferences.options(
        tz=current_app.config["BUSINESS_TIMEZONE"], region=current_app.config["DEFAULT_REGION"],
        own=own, window_start=form.window_start.data, window_days=form.window_days.data)
    try:
        result = importing.preview(Path(upload.filename).name[:120], upload.read(), options,
                                   upload_dir=current_app.config["UPLOAD_DIR"],
                                   user_id=current_user.id)
    except importing.ImportFileError as exc:
        form.file.errors.append(str(exc))
        return _upload_page(form, 422)
    return _preview_page(result, 422 if result.errors else 200)


@bp.route("/confirm", methods=["POST"])
@requires(Role.EDIT)
def confirm():
    """Write a previewed upload in one transaction, then go to the appointments."""
    form = ConfirmForm()
    try:
        result = importing.confirm(form.token.data or "", user_id=current_user.id,
                                   upload_dir=current_app.config["UPLOAD_DIR"],
                                   partial=form.partial.data == "1")
    except importing.ImportRowsError as exc:
        notice = "The data changed since the preview. Nothing was imported; fix the rows below."
        return _preview_page(exc.preview, 409, notice)
    except importing.ImportFileError as exc:
        upload_form = UploadForm()
        upload_form.file.errors = [str(exc)]
        return _upload_page(upload_form, 400)
    flash(result.summary, "success")
    if result.skipped_token:
        return _go(url_for("imports.done", token=result.skipped_token))
    return _go(_after_import_url())


@bp.route("/done/<token>")
@requires(Role.EDIT)
def done(token: str):
    """After a partial import: what was skipped, with the skipped rows to download."""
    return render("imports/done.html", "imports/_done.html", token=token,
                  after=_after_import_url())


@bp.route("/skipped/<token>.csv")
@requires(Role.EDIT)
def skipped(token: str):
    """The rows a partial import skipped, with their errors, as a CSV."""
    try:
        name, body = importing.skipped_csv(token, user_id=current_user.id,
                                           upload_dir=current_app.config["UPLOAD_DIR"])
    except importing.ImportFileError as exc:
        return Response(str(exc), status=404, mimetype="text/plain")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/template.csv")
@requires(Role.EDIT)
def template():
    """A sample CSV with every column, to fill in a spreadsheet."""
    body = importing.template_csv(current_app.config["BUSINESS_TIMEZONE"])
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="tidings-import-template.csv"'})
