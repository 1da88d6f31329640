"""Password rules: at least 12 characters, and not one of the 10,000 most common passwords."""

import string
from functools import lru_cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 200
COMMON_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
# A common password with digits or signs around it ("baseball2024!") is still common.
_PADDING = string.digits + string.punctuation + string.whitespace


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common-password list, lower-cased (comment lines left out)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.lower() for line in lines if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """True when the password, or its letters without surrounding digits and signs, is listed."""
    lowered = password.lower()
    common = common_passwords()
    return lowered in common or lowered.strip(_PADDING) in common


def problem(password: str) -> str | None:
    """Why `password` may not be used (a sentence without a final period), or None."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password may have at most {MAX_LENGTH} characters"
    if is_common(password):
        return "that password is on the list of the most common passwords; choose another"
    return None
