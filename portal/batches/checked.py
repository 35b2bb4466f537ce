"""The tally one check of a batch file fills (Checked): every step of the check writes into it."""

from __future__ import annotations

import csv
import heapq
import io
from dataclasses import dataclass, field

from portal.batches.rows import RowError

SHOWN_ERRORS = 50
SHOWN_CHANGES = 200
SHOWN_SAMPLES = 10


@dataclass
class Checked:
    """What a file holds, row by row, against the agency's bills now: counts, the first errors and
    changes for the page, and every error as CSV text (rows themselves are never all held at once)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    rows: int = 0
    shown_errors: list[RowError] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)  # the first new bills, to show how the file was read
    report: io.StringIO = field(default_factory=io.StringIO)
    _last_invalid_line: int = 0
    _refused: list[RowError] = field(default_factory=list)  # changes to paid bills, in line order

    def add_errors(self, errors: list[RowError]) -> None:
        """A row's own errors, found as the file is read (so in line order)."""
        writer = csv.writer(self.report)
        for error in errors:
            if error.line != self._last_invalid_line:
                self.invalid += 1
                self._last_invalid_line = error.line
            if len(self.shown_errors) < SHOWN_ERRORS:
                self.shown_errors.append(error)
            writer.writerow([error.line, error.column, error.message])

    def refuse(self, error: RowError) -> None:
        """A valid row that would change a paid bill or one being paid (found when compared with the
        stored bills, in line order); its line has no other error."""
        self.invalid += 1
        self._refused.append(error)

    def finish(self) -> None:
        """Every error in line order, whichever way the rows were compared with the stored bills."""
        if not self._refused:
            return
        read = (
            (int(line), column, message)
            for line, column, message in csv.reader(io.StringIO(self.report.getvalue()))
        )
        refused = ((error.line, error.column, error.message) for error in self._refused)
        self.report, self.shown_errors, self._refused = io.StringIO(), [], []
        writer = csv.writer(self.report)
        for line, column, message in heapq.merge(read, refused, key=lambda error: error[0]):
            if len(self.shown_errors) < SHOWN_ERRORS:
                self.shown_errors.append(RowError(line, column, message))
            writer.writerow([line, column, message])
