"""What every importer shares: row errors, the parse result and the import report."""

import re
from dataclasses import dataclass, field


class ImportFormatError(ValueError):
    """The file is not in the declared format; the message says why, in one line."""


@dataclass(frozen=True)
class RowError:
    """One invalid row: where it starts (line number or file name), the column and why."""

    line: int | None
    column: str
    reason: str
    file: str = ""

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"


@dataclass
class ParseResult:
    """What a parser found: valid records, every row error and rows deliberately skipped."""

    records: list = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0
    skipped_reasons: list[str] = field(default_factory=list)

    @property
    def invalid_rows(self) -> int:
        """Rows with at least one error (a row may have several)."""
        return len({(e.file, e.line) for e in self.errors})


@dataclass
class ImportReport:
    """Counts of one import run, and the errors that made rows invalid."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False

    def summary(self) -> str:
        """'created N, updated N, unchanged N, skipped N, invalid N'."""
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {self.skipped}, invalid {self.invalid}"
        )


# Leading bytes of common binary files, so a wrong file gets a plain message.
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an XLSX workbook?)",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "a SQLite database",
}


def read_text(path, expected: str) -> str:
    """The file's text (UTF-8, with or without a byte-order mark) or ImportFormatError."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"{path} is not a file; expected {expected}.")
    data = path.read_bytes()
    for signature, kind in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise ImportFormatError(f"{path.name} is {kind}, not {expected}.")
    if b"\x00" in data[:8192]:
        raise ImportFormatError(f"{path.name} is a binary file, not {expected}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{path.name} is not UTF-8 text (byte {exc.start}); expected {expected}."
        ) from None
    if not text or text.isspace():
        raise ImportFormatError(f"{path.name} is empty; expected {expected}.")
    return text


def csv_records(text: str, first_line: int = 1):
    """(header, iterator of (line number where the record starts, cells)); blank lines skipped.

    Line numbers are physical lines, so a quoted cell holding newlines still reports the
    line on which its record begins. first_line is the number of text's first line.
    """
    import csv

    reader = csv.reader(text_lines(text), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise ImportFormatError(f"the first line is not CSV ({exc}).") from None
    return [h.strip() for h in header], csv_rows(reader, first_line - 1)


# A line and its end (\r\n, \r or \n), as io.StringIO(text, newline="") yields lines.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def text_lines(text: str):
    """The lines of text with their ends, for csv.reader: the same lines as iterating
    io.StringIO(text, newline=""), without StringIO's copy of the whole text (over 3 s for
    a 400 MB file whose records parallel workers read anyway)."""
    return (match.group() for match in _LINE.finditer(text))


def csv_rows(reader, offset: int = 0):
    """(line number where the record starts, cells or csv.Error) of each non-blank record
    of a csv.reader; offset is the number of lines before the reader's text."""
    import csv

    while True:
        start = offset + reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        if not any(map(str.strip, row)):  # blank (stops at the first cell with text)
            continue
        yield start, row
