"""Client list, client card, and the create and edit forms."""

from flask import abort, current_app, flash, render_template, request, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.clients import bp
from blueprints.clients.forms import ClientForm, SearchForm
from blueprints.rendering import is_htmx, render, see_other
from core.appointments import operations as appointments
from core.audit.operations import history
from core.auth.models import Role
from core.clients import consent
from core.clients import operations as ops
from core.extensions import db


def _client_or_404(client_id: int):
    client = ops.get(client_id)
    if client is None:
        abort(404)
    return client


@bp.route("")
@requires(Role.READ_ONLY)
def index():
    """The client list with search (name, company, mobile in any format) and keyset paging."""
    form = SearchForm(request.args)
    text = (form.q.data or "").strip() if form.validate() else ""
    page = ops.list_clients(
        text,
        after=request.args.get("after"),
        before=request.args.get("before"),
        size=current_app.config["PAGE_SIZE"],
    )
    return render("clients/index.html", "clients/_table.html", form=form, q=text, results=page,
                  paged=bool(request.args.get("after") or request.args.get("before")))


@bp.route("/<int:client_id>")
@requires(Role.READ_ONLY)
def detail(client_id: int):
    """The client card: details, opt-out state, appointments, messages and audit history."""
    client = _client_or_404(client_id)
    return render(
        "clients/detail.html",
        "clients/_card.html",
        client=client,
        appointments=appointments.of_client(client.id),
        messages=ops.messages_of(client.id),
        events=history(client_id=client.id),
        **_consent_context(client),
    )


def _consent_context(client) -> dict:
    return {"consent_events": consent.consent_history(client.id),
            "consent_sources": consent.SOURCES}


@bp.route("/<int:client_id>/consent", methods=["POST"])
@requires(Role.EDIT)
def consent_change(client_id: int):
    """Record or withdraw the client's marketing consent (given on the client card)."""
    client = _client_or_404(client_id)
    if request.form.get("consent") == "give":
        consent.give(client, "form", actor=current_user)
    elif request.form.get("consent") == "withdraw":
        consent.withdraw(client, "form", actor=current_user)
    else:
        abort(400)
    db.session.commit()
    if is_htmx():
        return render_template("clients/_consent.html", client=client,
                               **_consent_context(client))
    return see_other(url_for("clients.detail", client_id=client.id))


def _save(form: ClientForm, client=None):
    """Run the create or update operation; a refusal lands on the field it concerns."""
    try:
        if client is None:
            client = ops.create_client(form.client_data(), actor=current_user)
        else:
            ops.update_client(client, form.client_data(), actor=current_user)
    except ops.ClientError as exc:
        db.session.rollback()
        form[exc.field].errors.append(str(exc))
        return None
    db.session.commit()
    return client


def _form_response(form: ClientForm, client=None):
    status = 422 if form.is_submitted() else 200
    return render("clients/form.html", "clients/_form.html", form=form, client=client), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.EDIT)
def new():
    """Create a client."""
    form = ClientForm()
    if form.validate_on_submit():
        client = _save(form)
        if client is not None:
            flash(f"{client.name} was added.", "success")
            return see_other(url_for("clients.detail", client_id=client.id))
    return _form_response(form)


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@requires(Role.EDIT)
def edit(client_id: int):
    """Edit a client; the changes are recorded on the client's history."""
    client = _client_or_404(client_id)
    form = ClientForm(obj=client)
    if request.method == "GET":
        form.mobile.data = client.mobile or ""
        form.timezone.data = client.timezone or ""
    if form.validate_on_submit() and _save(form, client) is not None:
        flash(f"{client.name} was saved.", "success")
        return see_other(url_for("clients.detail", client_id=client.id))
    return _form_response(form, client)
