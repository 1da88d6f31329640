"""Templates: list (Read Only), create, edit, delete and preview (Edit)."""

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.forms import save_through
from blueprints.rendering import see_other
from blueprints.templates_ import bp
from blueprints.templates_.forms import TemplateForm
from core.auth.models import Role
from core.automation import templates as ops
from core.extensions import db
from core.messaging.templating import FIELD_LABELS


def _template_or_404(template_id: int):
    template = ops.get(template_id)
    if template is None:
        abort(404)
    return template


def _data(form: TemplateForm) -> ops.TemplateData:
    return ops.TemplateData(name=form.name.data or "", kind=form.kind.data,
                            channel=form.channel.data, subject=form.subject.data or "",
                            body=form.body.data or "")


def _editor(form: TemplateForm, template=None, status: int = 200):
    """The editor page with its chips and the preview of what is typed."""
    preview = ops.preview(form.channel.data or "sms", form.subject.data, form.body.data)
    return render_template("templates_/form.html", form=form, template=template,
                           fields=FIELD_LABELS, preview=preview), status


def _save(form: TemplateForm, template=None):
    """Save through the operations; a refusal lands on its field."""
    return save_through(form, lambda: ops.save(_data(form), actor=current_user,
                                               template=template))


@bp.route("")
@requires(Role.READ_ONLY)
def index():
    """Every template with its kind, channel and text."""
    return render_template("templates_/index.html", items=ops.all_templates(),
                           used=ops.rules_by_template(), events=ops.recent_changes())


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.EDIT)
def new():
    """Write a new template."""
    form = TemplateForm()
    if request.method == "GET" and request.args.get("kind"):
        form.kind.data = request.args["kind"]
    saved = _save(form)
    if saved is not None:
        flash(f"The template “{saved.name}” was saved.", "success")
        return see_other(url_for("templates_.index"))
    return _editor(form, status=422 if form.is_submitted() else 200)


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@requires(Role.EDIT)
def edit(template_id: int):
    """Change a template; messages already queued or sent keep their text."""
    template = _template_or_404(template_id)
    form = TemplateForm(obj=template if request.method == "GET" else None)
    if _save(form, template) is not None:
        flash(f"The template “{template.name}” was saved.", "success")
        return see_other(url_for("templates_.index"))
    return _editor(form, template, status=422 if form.is_submitted() else 200)


@bp.route("/<int:template_id>/delete", methods=["POST"])
@requires(Role.EDIT)
def delete(template_id: int):
    """Delete a template no rule uses; otherwise say which rules use it."""
    template = _template_or_404(template_id)
    name = template.name
    try:
        ops.delete(template, actor=current_user)
    except ops.TemplateProblem as exc:
        flash(str(exc), "error")
        return see_other(url_for("templates_.index"))
    db.session.commit()
    flash(f"The template “{name}” was deleted.", "success")
    return see_other(url_for("templates_.index"))


@bp.route("/preview", methods=["POST"])
@requires(Role.EDIT)
def preview():
    """The live preview: the text merged for a real upcoming appointment, with its segments."""
    form = TemplateForm(meta={"csrf": False})
    return render_template("templates_/_preview.html", channel=form.channel.data,
                           preview=ops.preview(form.channel.data or "sms", form.subject.data,
                                               form.body.data))


@bp.context_processor
def helpers() -> dict:
    """Channel names for the templates' pages."""
    return {"channel_names": ops.CHANNELS}
