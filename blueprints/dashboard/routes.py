"""The start page every signed-in user may see."""

from flask import redirect, render_template, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.dashboard import bp
from core.auth.models import Role


@bp.route("/")
@requires(Role.NONE)
def index():
    """Send staff to the appointments; tell users without a role whom to ask."""
    if current_user.can(Role.READ_ONLY):
        return redirect(url_for("appointments.index"))
    return render_template("dashboard/no_access.html")
