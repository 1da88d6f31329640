"""Rules (Admin): list, create, edit, on/off, delete, the rule's page, dry run and Run now.
On the appointment page (Edit): the status buttons and Send confirmation."""

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from blueprints.access import requires
from blueprints.appointments import selection
from blueprints.automation import bp
from blueprints.automation.forms import ConfirmForm, FieldStatusForm, RuleForm
from blueprints.forms import save_through
from blueprints.rendering import render, see_other
from core.appointments import operations as appointments
from core.auth.models import Role
from core.automation import quota, reports
from core.automation import rules as ops
from core.automation import templates as template_ops
from core.automation.confirm import send_confirmation
from core.automation.engine import plan_rule
from core.automation.status import change_status
from core.extensions import db
from core.messaging.compose import ComposeError
from core.messaging.models import Category
from core.phones import pretty
from core.usage import quotas


def _rule_or_404(rule_id: int):
    rule = ops.get(rule_id)
    if rule is None:
        abort(404)
    return rule


def _template_choices() -> list[SelectChoice]:
    return [SelectChoice(0, "Choose a template…"),
            *(SelectChoice(t.id, f"{t.name} ({t.kind_enum.label})")
              for t in template_ops.all_templates())]


def _rule_data(form: RuleForm) -> ops.RuleData:
    return ops.RuleData(
        name=form.name.data or "", kind=form.kind.data, template_id=form.template_id.data or 0,
        timing=form.timing.data, amount=form.amount.data, send_time=form.send_time.data or "",
        after=form.after.data, status_trigger=form.status_trigger.data or "",
        staff=form.staff.data or "", location=form.location.data or "",
        title_contains=form.title_contains.data or "", enabled=bool(form.enabled.data))


def _save_rule(form: RuleForm, rule=None):
    """Save through the operations; a refusal lands on its field."""
    return save_through(form, lambda: ops.save(_rule_data(form), actor=current_user, rule=rule))


def _rule_editor(form: RuleForm, rule=None):
    status = 422 if form.is_submitted() else 200
    return render_template("automation/rule_form.html", form=form, rule=rule), status


@bp.route("/rules")
@requires(Role.ADMIN)
def rules():
    """Settings → Automated messages: every rule with its switch."""
    return render_template("automation/rules.html", items=ops.all_rules(), describe=ops.describe,
                           who=ops.who,
                           events=template_ops.recent_changes(("rule.", "automation.")))


@bp.route("/rules/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def new_rule():
    """Create a rule."""
    form = RuleForm()
    form.template_id.choices = _template_choices()
    saved = _save_rule(form)
    if saved is not None:
        flash(f"The rule “{saved.name}” was saved.", "success")
        return see_other(url_for("automation.rule", rule_id=saved.id))
    return _rule_editor(form)


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def edit_rule(rule_id: int):
    """Change a rule; what it already planned stays planned."""
    rule = _rule_or_404(rule_id)
    form = RuleForm(obj=rule if request.method == "GET" else None)
    form.template_id.choices = _template_choices()
    if _save_rule(form, rule) is not None:
        flash(f"The rule “{rule.name}” was saved.", "success")
        return see_other(url_for("automation.rule", rule_id=rule.id))
    return _rule_editor(form, rule)


@bp.route("/rules/<int:rule_id>")
@requires(Role.ADMIN)
def rule(rule_id: int):
    """One rule: what it does, last 7 days, next 7 days, Run now."""
    item = _rule_or_404(rule_id)
    past, ahead = reports.history(item), reports.forecast(item)
    top = max([d.sent + d.skipped + d.failed + d.other for d in past]
              + [d.forecast for d in ahead] + [1])
    return render_template("automation/rule.html", rule=item, past=past, ahead=ahead, top=top,
                           describe=ops.describe, who=ops.who,
                           quota=quotas.left(Category.TRANSACTIONAL.value))


@bp.route("/rules/<int:rule_id>/resume", methods=["POST"])
@requires(Role.ADMIN)
def resume(rule_id: int):
    """Resume a rule a monthly quota paused; its next run sends what is due then."""
    item = _rule_or_404(rule_id)
    if quota.resume(item, actor=current_user):
        db.session.commit()
        flash(f"“{item.name}” is resumed: its next run sends what is due then.", "success")
    else:
        flash(f"“{item.name}” was not paused.", "info")
    return see_other(request.form.get("next") or url_for("automation.rule", rule_id=rule_id))


@bp.route("/rules/<int:rule_id>/toggle", methods=["POST"])
@requires(Role.ADMIN)
def toggle(rule_id: int):
    """Switch a rule on or off."""
    item = _rule_or_404(rule_id)
    ops.set_enabled(item, not item.enabled, actor=current_user)
    db.session.commit()
    flash(f"“{item.name}” is {'on' if item.enabled else 'off'}.", "success")
    return see_other(request.form.get("next") or url_for("automation.rules"))


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@requires(Role.ADMIN)
def delete_rule(rule_id: int):
    """Delete a rule."""
    item = _rule_or_404(rule_id)
    ops.delete(item, actor=current_user)
    db.session.commit()
    flash("The rule was deleted.", "success")
    return see_other(url_for("automation.rules"))


@bp.route("/rules/<int:rule_id>/dry-run", methods=["POST"])
@requires(Role.ADMIN)
def dry_run(rule_id: int):
    """Run now, step one: who would get what, who is skipped and why; nothing is sent."""
    item = _rule_or_404(rule_id)
    return render_template("automation/_dry_run.html", rule=item, run=reports.dry_run(item))


@bp.route("/rules/<int:rule_id>/run", methods=["POST"])
@requires(Role.ADMIN)
def run_now(rule_id: int):
    """Run now, step two: send what is due, through the same exactly-once path."""
    item = _rule_or_404(rule_id)
    broadcast_id, count = plan_rule(item, run_now=True, actor=current_user)
    if item.paused_at is not None:
        flash(f"Nothing was sent: “{item.name}” is paused. {item.paused_reason}", "error")
        return see_other(url_for("automation.rule", rule_id=rule_id))
    if broadcast_id is None:
        flash("Nothing to send: every due appointment has had this message.", "success")
        return see_other(url_for("automation.rule", rule_id=rule_id))
    flash(f"“{item.name}” ran for {count:,} appointment(s); those that cannot be reached are "
          "skipped with their reason.", "success")
    return see_other(url_for("compose.broadcast", broadcast_id=broadcast_id))


# ---- on the appointment page ------------------------------------------------------------


def _appointment_or_404(appointment_id: int):
    appointment = appointments.get(appointment_id)
    if appointment is None:
        abort(404)
    return appointment


@bp.route("/appointments/<int:appointment_id>/status", methods=["POST"])
@requires(Role.EDIT)
def field_status(appointment_id: int):
    """En Route / Working / Completed: change the status and send its text when that is on."""
    appointment = _appointment_or_404(appointment_id)
    form = FieldStatusForm()
    if not form.validate_on_submit() or form.status.data not in ops.STATUS_TRIGGERS:
        abort(400)
    outcome = change_status(appointment, form.status.data, actor=current_user)
    flash(outcome.text, "success" if outcome.sent else "info")
    return see_other(url_for("appointments.detail", appointment_id=appointment_id))


@bp.app_context_processor
def status_buttons() -> dict:
    """The status buttons' choices (the appointment page), and how many rules a quota paused
    (the Admins' banner on every page; counted only when a page asks)."""
    return {"status_triggers": ops.STATUS_TRIGGERS, "paused_rules": quota.paused_count}


def _visits(appointment) -> list:
    return sorted([appointment, *appointments.same_job(appointment)],
                  key=lambda a: (a.start_at, a.id))


def _confirm_form(appointment=None) -> ConfirmForm:
    """The request form, prefilled on GET with the chosen (else the first) confirmation
    template."""
    form = ConfirmForm()
    templates = template_ops.all_templates("confirmation") or template_ops.all_templates()
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in templates]
    if appointment is not None:
        form.visit.choices = [SelectChoice(v.id, v.id) for v in _visits(appointment)]
    if request.method == "GET":
        form.visit.data = appointment.id if appointment is not None else None
        chosen = next((t for t in templates if t.id == request.args.get("template_id", type=int)),
                      templates[0] if templates else None)
        if chosen is not None:
            form.template_id.data, form.channel.data = chosen.id, chosen.channel
            form.subject.data, form.body.data = chosen.subject, chosen.body
    return form


@bp.route("/appointments/<int:appointment_id>/confirm", methods=["GET", "POST"])
@requires(Role.EDIT)
def confirm(appointment_id: int):
    """Send confirmation: the prefilled request to the client, for the visit picked."""
    appointment = _appointment_or_404(appointment_id)
    form = _confirm_form(appointment)
    visits = _visits(appointment)
    if form.validate_on_submit():
        visit = form.visit.data if form.visit.data in {v.id for v in visits} else appointment.id
        try:
            send_confirmation([visit], channel=form.channel.data, subject=form.subject.data,
                              body=form.body.data, actor=current_user,
                              to=form.other_mobile.data or "")
        except ComposeError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            who = (pretty(form.other_mobile.data) if form.other_mobile.data
                   else appointment.client.name)
            flash(f"The confirmation request is on its way to {who}.", "success")
            return see_other(url_for("appointments.detail", appointment_id=visit))
    return render("automation/confirm.html", "automation/_confirm.html", form=form,
                  appointment=appointment, visits=visits), (422 if form.is_submitted() else 200)


@bp.route("/confirm-selected", methods=["GET", "POST"])
@requires(Role.EDIT)
def confirm_selected():
    """Send confirmation to the clients of the ticked appointments (one request each)."""
    ids = selection.selected_ids()
    form = _confirm_form()
    if form.validate_on_submit():
        try:
            broadcast = send_confirmation(ids, channel=form.channel.data,
                                          subject=form.subject.data, body=form.body.data,
                                          actor=current_user)
        except ComposeError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            selection.clear()
            flash(f"Confirmation requests are on their way ({len(ids):,} appointments).",
                  "success")
            return see_other(url_for("compose.broadcast", broadcast_id=broadcast.id))
    return render_template("automation/confirm_selected.html", form=form, count=len(ids)), (
        422 if form.is_submitted() else 200)
