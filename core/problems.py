"""The refusal operations raise when a form's value cannot be saved."""


class FieldProblem(ValueError):
    """A value that cannot be saved; `field` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
