"""Importing clients and appointments from a CSV or iCal file: parse, preview, then write.

Modules: `reading` (file kind and encoding); `csvfile` (Tidings' own columns); `mapping`,
`dates`, `mapped` and `staging` (the column-mapping step for other systems' CSV exports);
`icalfile` with `people` (who an event is for), `zones` (Outlook zone names) and `series`
(repeating events); `fields` (one value of a row); `matching` (checks against the database);
`writing` (bulk INSERTs); `steps` (preview and confirm, the operations the views call).
"""

from core.appointments.importing.csvfile import template_csv
from core.appointments.importing.reading import read_upload
from core.appointments.importing.rows import (
                                              ImportFileError,
                                              ImportRowsError,
                                              Options,
                                              Preview,
                                              Result,
                                              Row,
)
from core.appointments.importing.staging import (
    Staged,
    load,
    needs_mapping,
    preview_mapped,
    sample,
    stage,
)
from core.appointments.importing.steps import confirm, preview, preview_kept, skipped_csv

__all__ = ["ImportFileError", "ImportRowsError", "Options", "Preview", "Result", "Row", "Staged",
           "confirm", "load", "needs_mapping", "preview", "preview_kept", "preview_mapped",
           "read_upload", "sample", "skipped_csv", "stage", "template_csv"]
