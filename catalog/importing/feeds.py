"""Reading feed files into (row number, columns) pairs, one bad row at a time.

A row that cannot even be read (bad encoding, broken JSON) comes back as a RowError
so the import reports it and goes on with the next row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from catalog.importing.records import RowError, SourceError

REQUIRED_COLUMNS = ("id", "title", "price")

FEED_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}

FeedRow = tuple[int, dict | RowError]


def feed_kind(path: Path) -> str | None:
    """'csv' or 'jsonl' by suffix, else by the first non-blank byte; None if not a feed."""
    kind = FEED_SUFFIXES.get(path.suffix.lower())
    if kind:
        return kind
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "jsonl"
    return None


def read_feed(path: Path) -> Iterator[FeedRow]:
    kind = feed_kind(path)
    if kind == "jsonl":
        return read_jsonl(path)
    return read_csv(path)


def _decoded_lines(data: bytes) -> tuple[list[str], dict[int, str]]:
    """Decode line by line so one badly encoded line spoils only its own row.

    Returns the lines and {line number: reason} for the lines that are not UTF-8.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines, bad = [], {}
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad[number] = f"bad encoding: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not UTF-8"
            lines.append(raw.decode("utf-8", errors="replace"))
    return lines, bad


def read_csv(path: Path) -> Iterator[FeedRow]:
    """CSV or TSV (GMC allows both) with a header row; row numbers are file line numbers."""
    lines, bad_lines = _decoded_lines(path.read_bytes())
    if not lines:
        return
    delimiter = "\t" if lines[0].count("\t") > lines[0].count(",") else ","
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    if 1 in bad_lines:
        raise SourceError(f"{path.name}: header line: {bad_lines[1]}")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise SourceError(f"{path.name}: the header has no {', '.join(missing)} column (found: {', '.join(header)})")
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, RowError(f"malformed CSV ({exc})")
            start = reader.line_num + 1
            continue
        end = reader.line_num
        row_number, start = start, end + 1
        if not any(value.strip() for value in values):
            continue  # blank line
        bad = next((bad_lines[n] for n in range(row_number, end + 1) if n in bad_lines), None)
        if bad:
            yield row_number, RowError(bad)
        elif len(values) > len(header):
            yield row_number, RowError(f"{len(values)} fields but the header has {len(header)}")
        else:
            yield row_number, dict(zip(header, values))


def read_jsonl(path: Path) -> Iterator[FeedRow]:
    """One JSON object per line (JSON lines); a whole-file JSON array is accepted too."""
    data = path.read_bytes()
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        yield from _read_json_array(stripped)
        return
    lines, bad_lines = _decoded_lines(data)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number in bad_lines:
            yield number, RowError(bad_lines[number])
            continue
        try:
            value = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield number, RowError(f"invalid JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield number, RowError(f"expected a JSON object, got {type(value).__name__}")
            continue
        yield number, {str(key).strip().lower(): item for key, item in value.items()}


def _read_json_array(data: bytes) -> Iterator[FeedRow]:
    try:
        items = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"the file is not valid JSON ({exc})") from None
    for number, value in enumerate(items, start=1):
        if isinstance(value, dict):
            yield number, {str(key).strip().lower(): item for key, item in value.items()}
        else:
            yield number, RowError(f"expected a JSON object, got {type(value).__name__}")
