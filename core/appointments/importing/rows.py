"""The shapes an import passes around: options, rows, a preview, a result, and its errors."""

from dataclasses import dataclass, field
from datetime import date, datetime

MAX_ROWS = 5000
WINDOW_DAYS = 90  # how far ahead a repeating event is expanded by default
# What a re-import changes on an appointment it matched: a calendar has no staff or job number.
UPDATED = {"event": ("start_at", "end_at", "title", "location", "status"),
           "row": ("start_at", "end_at", "title", "staff", "location", "job_number", "status")}
SKIPPED_ACTIONS = ("unchanged", "duplicate")  # valid rows that write nothing
# Valid rows that change nothing but an existing client's marketing consent are written with
# action "consent".


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message is fit to show the uploader."""


class ImportRowsError(ValueError):
    """Some rows are wrong (found again at confirmation); nothing was written."""

    def __init__(self, upload: "Preview"):
        super().__init__("; ".join(upload.errors))
        self.preview = upload


@dataclass(frozen=True)
class Options:
    """How to read a file: the business's zone, region and own contacts, and the series window."""

    tz: str
    region: str
    own_addresses: frozenset = frozenset()  # the business's emails: never a client
    business_phone: str = ""  # E.164; never taken as a client's number
    window_start: date | None = None  # repeating events: first day expanded (None: today)
    window_days: int = WINDOW_DAYS


@dataclass
class Row:
    """One CSV row or iCal event: the text as given, the parsed values, and what is wrong."""

    number: int
    label: str = "row"
    raw: dict = field(default_factory=dict)
    client: dict = field(default_factory=dict)
    appointment: dict = field(default_factory=dict)
    consent: dict = field(default_factory=dict)  # marketing consent: {given, on, at} if given
    errors: list = field(default_factory=list)
    occurrence: str = ""  # which visit of a repeating event ("visit on 2030-03-11 09:30")
    parse_errors: int = -1  # how many of `errors` reading the file found (set by resolve)
    client_id: int | None = None
    client_name: str = ""
    new_client: str | None = None
    appointment_id: int | None = None
    action: str = "create"

    def error(self, column: str, message: str) -> None:
        """Note a problem with one column of this row."""
        self.errors.append((column, message))

    @property
    def bad_columns(self) -> set[str]:
        """The columns with an error (the preview highlights their cells)."""
        return {column for column, _ in self.errors}

    @property
    def where(self) -> str:
        """"event 3" or "event 3 (visit on …)": how messages name this row."""
        return f"{self.label} {self.number}" + (f" ({self.occurrence})" if self.occurrence else "")

    @property
    def messages(self) -> list[str]:
        return [f"{self.where}: {message}" for _, message in self.errors]

    def to_json(self) -> dict:
        """The parsed row as JSON (datetimes as ISO strings)."""
        appointment = {k: v.isoformat() if isinstance(v, datetime) else v
                       for k, v in self.appointment.items()}
        return {"number": self.number, "label": self.label, "raw": self.raw,
                "client": self.client, "appointment": appointment, "consent": self.consent,
                "occurrence": self.occurrence, "errors": [list(e) for e in self.file_errors]}

    @property
    def file_errors(self) -> list:
        """The errors found in the file itself (not those of checking the database)."""
        return self.errors if self.parse_errors < 0 else self.errors[:self.parse_errors]

    @classmethod
    def from_json(cls, data: dict) -> "Row":
        """A row read back from a stored upload."""
        appointment = dict(data["appointment"])
        for key in ("start_at", "end_at"):
            if appointment.get(key):
                appointment[key] = datetime.fromisoformat(appointment[key])
        return cls(number=int(data["number"]), label=data["label"], raw=dict(data["raw"]),
                   client=dict(data["client"]), appointment=appointment,
                   consent=dict(data.get("consent") or {}),
                   occurrence=data.get("occurrence", ""),
                   errors=[tuple(e) for e in data.get("errors", [])])


@dataclass
class Preview:
    """A parsed upload: its rows, and the token under which a clean one waits for confirmation."""

    kind: str
    filename: str
    rows: list[Row]
    token: str | None = None
    notices: list[str] = field(default_factory=list)  # said once above the rows
    partial: bool = False  # "import the valid rows and skip the rest"
    stage_token: str | None = None  # a mapped CSV: where its mapping step can be found again
    owner_hint: tuple | None = None  # (address, its events, all events): the likely owner
    raw_token: str | None = None  # where the uploaded file is kept to read it again

    @property
    def errors(self) -> list[str]:
        return [message for row in self.rows for message in row.messages]

    @property
    def valid(self) -> list[Row]:
        return [row for row in self.rows if not row.errors]

    @property
    def skipped(self) -> list[Row]:
        return [row for row in self.rows if row.errors]

    @property
    def to_write(self) -> list[Row]:
        return [row for row in self.valid if row.action not in SKIPPED_ACTIONS]

    @property
    def unchanged(self) -> int:
        """Valid rows that write nothing: already up to date, or repeated in the file."""
        return len(self.valid) - len(self.to_write)

    @property
    def new_clients(self) -> int:
        """Clients the import would create: rows with a mobile or email that matched no one."""
        return len({row.new_client for row in self.rows
                    if row.client_id is None and row.new_client
                    and (row.client.get("mobile") or row.client.get("email"))
                    and row.action not in SKIPPED_ACTIONS})


@dataclass
class Result:
    """What a confirmed import wrote."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_clients: int = 0
    consents: int = 0  # clients whose marketing consent the import gave or withdrew
    skipped: int = 0
    skipped_token: str | None = None  # where the skipped rows wait as a CSV to download

    @property
    def summary(self) -> str:
        count = plural(self.created + self.updated, "appointment")
        text = f"Imported {count} ({plural(self.new_clients, 'new client')})"
        if not self.created + self.updated:
            text = f"Imported {plural(self.new_clients, 'new client')}"
        if self.updated:
            text += f"; {self.updated} of them updated"
        if self.unchanged:
            text += f"; {self.unchanged} already up to date"
        if self.consents:
            text += f"; marketing consent changed for {plural(self.consents, 'client')}"
        if self.skipped:
            text += f"; {plural(self.skipped, 'row')} with errors skipped"
        return text + "."


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
