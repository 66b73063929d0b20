"""Reading incident files and writing them as incidents, and pulling them from the ACLED API.

    records     ParsedIncident / RowProblem, what every format reads a record into
    readers     field readers (dates, numbers, coordinates, countries) shared by the formats
    files       CSV and JSON reading, and FileFormat
    acled, own, ucdp    one module per format: ACLED (CSV export and API rows), this project's GeoJSON and
                CSV exports, UCDP GED
    formats     the formats by name, and telling them apart from a file's header
    write       the write path: records to incidents, set-based, with history (bulk)
    bulk        the set-based statements: staged rows to incidents, and every incident's nearest base
    runner      run_import: one ImportJob, chunk by chunk, resumable
    sync        the ACLED API sync: pages of rows imported as an ImportJob through the runner's chunks
    admin       the admin of the import jobs and of the sync's state (registered by events.admin)

The names below are what callers outside the package use.
"""

from .acled import parse_acled
from .formats import FORMATS, check_file, detect_format
from .own import parse_own
from .records import ImportFileError, ParsedIncident, Record, RowProblem
from .runner import import_chunk, run_import
from .ucdp import parse_ucdp
from .write import ImportContext, ImportOutcome, import_incidents

__all__ = [
    "FORMATS",
    "ImportContext",
    "ImportFileError",
    "ImportOutcome",
    "ParsedIncident",
    "Record",
    "RowProblem",
    "check_file",
    "detect_format",
    "import_chunk",
    "import_incidents",
    "parse_acled",
    "parse_own",
    "parse_ucdp",
    "run_import",
]
