"""Saving a form through an operation, with a refusal shown on the field it names."""

from core.extensions import db
from core.problems import FieldProblem


def save_through(form, save):
    """Validate `form`, call `save()` and commit; None (nothing written) when the form is
    invalid or the operation refuses, with the refusal added to the field it names."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save()
    except FieldProblem as exc:
        db.session.rollback()
        form[exc.field].errors = [*form[exc.field].errors, str(exc)]
        return None
    db.session.commit()
    return saved
