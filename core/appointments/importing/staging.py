"""The mapping step of a CSV import: keep the uploaded text, offer a mapping, then preview it.

A CSV whose header names Tidings' own columns goes straight to the preview. Any other CSV is
kept as text (`kept`) while the user maps its columns.
"""

from dataclasses import dataclass
from pathlib import Path

from core.appointments.importing import kept
from core.appointments.importing import mapping as mappings
from core.appointments.importing.csvfile import is_tidings_header, read_table
from core.appointments.importing.mapped import parse_mapped
from core.appointments.importing.matching import resolve
from core.appointments.importing.reading import decode, kind_of
from core.appointments.importing.rows import ImportFileError, Options, Preview
from core.appointments.importing.steps import store

SAMPLES = 5


@dataclass
class Staged:
    """An uploaded CSV waiting for its mapping: its header, first rows and the guessed mapping."""

    token: str
    filename: str
    header: list[str]
    samples: list[list[str]]
    mapping: mappings.Mapping
    notices: list[str]


def needs_mapping(filename: str, data: bytes) -> bool:
    """True for a CSV whose header is not Tidings' own (an export of another system)."""
    if kind_of(filename) != "csv" or not data.strip():
        return False
    try:
        text, _ = decode(data, "csv")
    except ImportFileError:
        return False
    return not is_tidings_header(read_table(text)[0]) if text.strip() else False


def stage(filename: str, data: bytes, *, upload_dir, user_id: int) -> Staged:
    """Keep an uploaded CSV for its mapping step and guess the mapping."""
    text, notices = decode(data, "csv")
    header, table = read_table(text)
    payload = {"filename": filename, "text": text, "notices": notices}
    token = kept.keep(payload, upload_dir=upload_dir, user_id=user_id)
    return _staged(token, payload, header, table)


def load(token: str, *, upload_dir, user_id: int) -> Staged:
    """A staged CSV of this user, with its saved or guessed mapping."""
    payload = _payload(token, upload_dir, user_id)
    header, table = read_table(payload["text"])
    return _staged(token, payload, header, table)


def _staged(token: str, payload: dict, header: list, table: list) -> Staged:
    samples = [cells for _, cells in table[:SAMPLES]]
    return Staged(token, payload["filename"], header, samples,
                  mappings.guess(header, samples), payload.get("notices", []))


def _payload(token: str, upload_dir, user_id: int) -> dict:
    payload = kept.load(token, upload_dir=upload_dir, user_id=user_id)
    if "text" not in payload:
        raise ImportFileError(kept.UNKNOWN_TOKEN)
    return payload


def sample(token: str, mapping: mappings.Mapping, options: Options, *, upload_dir,
           user_id: int) -> list:
    """The first rows of a staged CSV as the mapping reads them (nothing is checked or kept)."""
    payload = _payload(token, upload_dir, user_id)
    return parse_mapped(payload["text"], options, mapping, limit=SAMPLES)


def preview_mapped(token: str, mapping: mappings.Mapping, options: Options, *, upload_dir,
                   user_id: int, remember: bool = False) -> Preview:
    """Read a staged CSV through a mapping and check it; rows to write get a preview token."""
    payload = _payload(token, upload_dir, user_id)
    header, _ = read_table(payload["text"])
    if remember:
        mappings.save(header, mapping)
    upload = Preview("csv", payload["filename"], parse_mapped(payload["text"], options, mapping),
                     notices=list(payload.get("notices", [])))
    resolve(upload.rows)
    if upload.to_write:
        upload.token = store(upload, Path(upload_dir) / "imports", user_id)
    return upload
