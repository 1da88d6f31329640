"""Uploaded files kept for a next step (mapping the columns, "this is me"): private JSON files
under UPLOAD_DIR/imports/<token>.raw.json, readable only by the user who uploaded them."""

import json
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from core.appointments.importing.rows import ImportFileError

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
TOKEN_TTL = timedelta(hours=24)
UNKNOWN_TOKEN = ("This import is unknown, has expired or was already done. Nothing was imported; "
                 "upload the file again.")


def keep(payload: dict, *, upload_dir, user_id: int) -> str:
    """Store a payload for this user; its token."""
    folder = Path(upload_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.raw.json"
    path.touch(mode=0o600)  # the rows hold clients' names and numbers
    path.write_text(json.dumps(dict(payload, user_id=user_id)), encoding="utf-8")
    return token


def load(token: str, *, upload_dir, user_id: int) -> dict:
    """The payload kept under a token for this user; anything else is an unknown token."""
    path = Path(upload_dir) / "imports" / f"{token}.raw.json"
    if not TOKEN_RE.fullmatch(token or "") or not path.is_file():
        raise ImportFileError(UNKNOWN_TOKEN)
    if time.time() - path.stat().st_mtime > TOKEN_TTL.total_seconds():
        path.unlink(missing_ok=True)
        raise ImportFileError(UNKNOWN_TOKEN)
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("user_id") != user_id:
        raise ImportFileError(UNKNOWN_TOKEN)
    os.utime(path)  # the user is still at it
    return payload
