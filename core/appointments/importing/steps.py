"""The two steps of an import: preview (parse, check, store) and confirm (check again, write).

`preview()` parses the upload, checks it against the database and, when it has rows to write,
stores the parsed rows as JSON under UPLOAD_DIR/imports/<token>.json. `confirm()` re-checks
those rows (the database may have changed since) and writes them in one transaction: all of
them, or, when the user chose so, the valid ones while the others are skipped.
"""

import base64
import csv
import io
import json
import os
import re
import secrets
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.appointments.importing import kept
from core.appointments.importing.kept import TOKEN_RE, TOKEN_TTL, UNKNOWN_TOKEN
from core.appointments.importing.matching import resolve
from core.appointments.importing.reading import read_upload
from core.appointments.importing.rows import (
    ImportFileError,
    ImportRowsError,
    Options,
    Preview,
    Result,
    Row,
)
from core.appointments.importing.writing import write
from core.extensions import db


def preview(filename: str, data: bytes, options: Options, *, upload_dir,
            user_id: int) -> Preview:
    """Parse and check an upload; one with rows to write is stored under a token for confirm()."""
    upload = read_upload(filename, data, options)
    resolve(upload.rows)
    if upload.to_write:
        upload.token = store(upload, Path(upload_dir) / "imports", user_id)
    if upload.owner_hint:  # kept so that "This is me" can read it again without a new upload
        payload = {"filename": filename, "data": base64.b64encode(data).decode()}
        upload.raw_token = kept.keep(payload, upload_dir=upload_dir, user_id=user_id)
    return upload


def preview_kept(token: str, options: Options, *, upload_dir, user_id: int) -> Preview:
    """Preview a kept calendar again (after the user said which address is theirs)."""
    payload = kept.load(token, upload_dir=upload_dir, user_id=user_id)
    if "data" not in payload:
        raise ImportFileError(kept.UNKNOWN_TOKEN)
    return preview(payload["filename"], base64.b64decode(payload["data"]), options,
                   upload_dir=upload_dir, user_id=user_id)


def confirm(token: str, *, user_id: int, upload_dir, partial: bool = False) -> Result:
    """Write a stored upload in one transaction (all rows, or with `partial` the valid ones).

    It commits (unlike most operations) because the claim on the stored file and the
    transaction must succeed or fail together.
    """
    folder = Path(upload_dir) / "imports"
    stored = _load(folder, token, user_id)
    stored.partial = partial
    claimed = folder / f"{token}.claimed"
    try:
        os.rename(folder / f"{token}.json", claimed)
    except FileNotFoundError:
        raise ImportFileError(UNKNOWN_TOKEN) from None  # another request took it first
    try:
        resolve(stored.rows)
        if (stored.errors and not partial) or not stored.to_write:
            stored.token = None
            raise ImportRowsError(stored)
        result = write(stored, actor_id=user_id)
        db.session.commit()
    except ImportRowsError:
        db.session.rollback()
        claimed.unlink(missing_ok=True)
        raise
    except SQLAlchemyError as exc:
        db.session.rollback()
        os.rename(claimed, folder / f"{token}.json")  # let the user try once more
        raise ImportFileError(
            f"Nothing was imported: the database refused the rows ({type(exc).__name__}). "
            "Try again."
        ) from exc
    claimed.unlink(missing_ok=True)
    if stored.skipped:
        result.skipped_token = _store_skipped(stored, folder, user_id)
    return result



def store(upload: Preview, folder: Path, user_id: int) -> str:
    """Write the parsed rows to <token>.json and return the token."""
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    payload = {"version": 1, "kind": upload.kind, "filename": upload.filename,
               "user_id": user_id, "rows": [row.to_json() for row in upload.rows]}
    partial = folder / f"{token}.part"
    partial.touch(mode=0o600)  # the rows hold clients' names and numbers
    partial.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(partial, folder / f"{token}.json")
    return token


def _load(folder: Path, token: str, user_id: int) -> Preview:
    """The stored upload of this token and this user; anything else is an unknown token."""
    path = folder / f"{token}.json"
    if not TOKEN_RE.fullmatch(token or "") or not path.is_file():
        raise ImportFileError(UNKNOWN_TOKEN)
    if time.time() - path.stat().st_mtime > TOKEN_TTL.total_seconds():
        path.unlink(missing_ok=True)
        raise ImportFileError(UNKNOWN_TOKEN)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["version"] != 1 or payload["user_id"] != user_id:
            raise ImportFileError(UNKNOWN_TOKEN)
        rows = [Row.from_json(row) for row in payload["rows"]]
        return Preview(payload["kind"], payload["filename"], rows, token=token)
    except (ValueError, KeyError, TypeError):
        raise ImportFileError(UNKNOWN_TOKEN) from None


def _sweep(folder: Path) -> None:
    """Delete stored uploads nobody confirmed within TOKEN_TTL."""
    cutoff = time.time() - TOKEN_TTL.total_seconds()
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # a concurrent request removed it




def _store_skipped(upload: Preview, folder: Path, user_id: int) -> str:
    """Keep the skipped rows with their errors as a CSV for the user to download; its token."""
    out = io.StringIO()
    columns = sorted({key for row in upload.skipped for key in row.raw})
    writer = csv.writer(out)
    writer.writerow(["where", "errors", *columns])
    for row in upload.skipped:
        writer.writerow([row.where, "; ".join(m for _, m in row.errors),
                         *(row.raw.get(key, "") for key in columns)])
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.skipped.json"
    path.touch(mode=0o600)
    payload = {"user_id": user_id, "filename": upload.filename, "csv": out.getvalue()}
    path.write_text(json.dumps(payload), encoding="utf-8")
    return token


def skipped_csv(token: str, *, user_id: int, upload_dir) -> tuple[str, str]:
    """The file name and CSV text of the rows a partial import skipped (for this user only)."""
    path = Path(upload_dir) / "imports" / f"{token}.skipped.json"
    if not TOKEN_RE.fullmatch(token or "") or not path.is_file():
        raise ImportFileError(UNKNOWN_TOKEN)
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload["user_id"] != user_id:
        raise ImportFileError(UNKNOWN_TOKEN)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(payload["filename"]).stem)[:80]
    return f"skipped-{stem}.csv", payload["csv"]
