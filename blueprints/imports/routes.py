"""Import pages: upload a file, preview every row, then confirm to write them all at once."""

from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, redirect, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.imports import bp
from blueprints.imports.forms import ConfirmForm, FeedForm, MappingForm, MeForm, UploadForm
from blueprints.rendering import is_htmx, render
from core.appointments import importing
from core.appointments.importing import feeds, preferences, tasks
from core.appointments.importing import mapping as mappings
from core.appointments.importing.fetching import FeedError
from core.auth.models import Role
from core.extensions import db


def _upload_page(form: UploadForm, status: int = 200):
    return render("imports/index.html", "imports/_upload.html", form=form,
                  zone=current_app.config["BUSINESS_TIMEZONE"]), status


def _local_time(value) -> str:
    """A UTC time as the business reads it."""
    zone = ZoneInfo(current_app.config["BUSINESS_TIMEZONE"])
    return value.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") if value else ""


def _preview_page(upload: importing.Preview, status: int, notice: str = ""):
    zone = ZoneInfo(current_app.config["BUSINESS_TIMEZONE"])
    local = _local_time
    return render("imports/preview.html", "imports/_preview.html", upload=upload,
                  form=ConfirmForm(formdata=None, token=upload.token), local=local,
                  notice=notice, zone=zone.key), status


def _mapping_page(staged: importing.Staged, form: MappingForm | None = None,
                  problems: list[str] | None = None, status: int = 200):
    if form is None:
        form = MappingForm(token=staged.token, dates={None: "auto", False: "mdy", True: "dmy"}[
            staged.mapping.day_first], default_minutes=staged.mapping.default_minutes)
        for column in staged.mapping.columns:
            form.columns.append_entry(column)
    try:
        rows = importing.sample(staged.token, _mapping_of(form), _options(),
                                upload_dir=current_app.config["UPLOAD_DIR"],
                                user_id=current_user.id)
    except importing.ImportFileError:
        rows = []
    return render("imports/mapping.html", "imports/_mapping.html", staged=staged, form=form,
                  problems=problems or [], rows=rows, local=_local_time,
                  zone=current_app.config["BUSINESS_TIMEZONE"]), status


def _mapping_of(form: MappingForm) -> mappings.Mapping:
    return mappings.Mapping(
        columns=[entry.data for entry in form.columns],
        day_first={"mdy": False, "dmy": True}.get(form.dates.data),
        default_minutes=form.default_minutes.data or 30,
        default_title=(form.default_title.data or "").strip() or "Appointment")


def _options(own: frozenset = frozenset()) -> importing.Options:
    return preferences.options(tz=current_app.config["BUSINESS_TIMEZONE"],
                               region=current_app.config["DEFAULT_REGION"], own=own)


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
    name, data = Path(form.file.data.filename).name[:120], form.file.data.read()
    own = preferences.own_set()
    if form.own_addresses.raw_data:  # the field was on the form: what it says is remembered
        own = preferences.remember_own_addresses(form.own_addresses.data)
        db.session.commit()
    options = preferences.options(
        tz=current_app.config["BUSINESS_TIMEZONE"], region=current_app.config["DEFAULT_REGION"],
        own=own, window_start=form.window_start.data, window_days=form.window_days.data)
    folder = current_app.config["UPLOAD_DIR"]
    try:
        if importing.needs_mapping(name, data):
            return _mapping_page(importing.stage(name, data, upload_dir=folder,
                                                 user_id=current_user.id))
        result = importing.preview(name, data, options, upload_dir=folder,
                                   user_id=current_user.id)
    except importing.ImportFileError as exc:
        form.file.errors.append(str(exc))
        return _upload_page(form, 422)
    return _preview_page(result, 422 if result.errors else 200)


@bp.route("/map/<token>")
@requires(Role.EDIT)
def mapping(token: str):
    """The mapping step of an uploaded CSV again (to change the mapping after a preview)."""
    try:
        staged = importing.load(token, upload_dir=current_app.config["UPLOAD_DIR"],
                                user_id=current_user.id)
    except importing.ImportFileError as exc:
        upload_form = UploadForm()
        upload_form.file.errors = [str(exc)]
        return _upload_page(upload_form, 404)
    return _mapping_page(staged)


@bp.route("/map/sample", methods=["POST"])
@requires(Role.EDIT)
def map_sample():
    """The first rows of an uploaded CSV as the chosen mapping reads them (an HTMX fragment)."""
    form = MappingForm()
    try:
        rows = importing.sample(form.token.data or "", _mapping_of(form), _options(),
                                upload_dir=current_app.config["UPLOAD_DIR"],
                                user_id=current_user.id)
    except importing.ImportFileError as exc:
        return Response(str(exc), status=404, mimetype="text/plain")
    return render("imports/_mapping_sample.html", "imports/_mapping_sample.html", rows=rows,
                  local=_local_time)


@bp.route("/map", methods=["POST"])
@requires(Role.EDIT)
def map_columns():
    """Read an uploaded CSV through the chosen mapping and show the preview."""
    form = MappingForm()
    folder = current_app.config["UPLOAD_DIR"]
    try:
        staged = importing.load(form.token.data or "", upload_dir=folder,
                                user_id=current_user.id)
        chosen = _mapping_of(form)
        problems = mappings.check(chosen) if len(chosen.columns) == len(staged.header) else [
            "choose a field for every column"]
        if not form.validate_on_submit() or problems:
            return _mapping_page(staged, form, problems, 422)
        result = importing.preview_mapped(staged.token, chosen, _options(), upload_dir=folder,
                                          user_id=current_user.id,
                                          remember=form.remember.data)
    except importing.ImportFileError as exc:
        upload_form = UploadForm()
        upload_form.file.errors = [str(exc)]
        return _upload_page(upload_form, 400)
    db.session.commit()  # the remembered mapping
    result.stage_token = staged.token
    return _preview_page(result, 422 if result.errors else 200)


@bp.route("/this-is-me", methods=["POST"])
@requires(Role.EDIT)
def this_is_me():
    """Remember an address as the business's own and preview the same calendar again."""
    form = MeForm()
    if not form.validate_on_submit():
        return _upload_page(UploadForm(), 400)
    own = preferences.add_own_address(form.address.data)
    db.session.commit()
    try:
        result = importing.preview_kept(form.token.data, _options(own),
                                        upload_dir=current_app.config["UPLOAD_DIR"],
                                        user_id=current_user.id)
    except importing.ImportFileError as exc:
        upload_form = UploadForm()
        upload_form.file.errors = [str(exc)]
        return _upload_page(upload_form, 400)
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


def _feeds_page(form: FeedForm, status: int = 200):
    return render("imports/feeds.html", "imports/_feeds.html", feeds=feeds.all_feeds(),
                  form=form), status


@bp.route("/feeds")
@requires(Role.ADMIN)
def feed_list():
    """The calendar feeds with their last sync, counts and error, and a form to add one."""
    return _feeds_page(FeedForm())


@bp.route("/feeds", methods=["POST"])
@requires(Role.ADMIN)
def feed_add():
    """Add a calendar feed; its first sync is queued at once."""
    form = FeedForm()
    if not form.validate_on_submit():
        return _feeds_page(form, 422)
    try:
        feed = feeds.add_feed(name=form.name.data.strip(), url=form.url.data.strip(),
                              own_addresses=form.own_addresses.data or "",
                              allow_private=form.allow_private.data,
                              interval_minutes=form.interval_minutes.data,
                              window_days=form.window_days.data)
    except FeedError as exc:
        form.url.errors.append(str(exc))
        return _feeds_page(form, 422)
    db.session.commit()
    tasks.queue_sync(feed.id)
    return _go(url_for("imports.feed_list"))


@bp.route("/feeds/<int:feed_id>/sync", methods=["POST"])
@requires(Role.ADMIN)
def feed_sync(feed_id: int):
    """Queue a sync of one feed now."""
    tasks.queue_sync(feed_id)
    flash("The feed is being synced; reload in a moment.", "success")
    return _go(url_for("imports.feed_list"))


@bp.route("/feeds/<int:feed_id>/delete", methods=["POST"])
@requires(Role.ADMIN)
def feed_delete(feed_id: int):
    """Stop syncing a feed (the appointments it brought stay)."""
    feeds.delete_feed(feed_id)
    db.session.commit()
    return _go(url_for("imports.feed_list"))
