"""The one reader of CSV and Parquet files (trial files, responses, labels, stage tables): every
decoding or parsing failure becomes an InputError naming the file and the true line, and every
row keeps the line it came from, so later checks can name it too.

pandas alone cannot do this: with blank lines skipped its row numbers no longer map to lines, a
quoted field may span lines, and its parser errors are tracebacks of several types. So the file
is first read with the standard csv module, which reports where each record starts and ends;
pandas then builds the frame from the checked text.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from lib.errors import InputError

SUFFIXES = (".csv", ".parquet")


def read_table_file(path: Path, what: str = "table", text: bool = False) -> pd.DataFrame:
    """The table at `path` (.csv or .parquet). `text`: every CSV value as a string ("" where
    empty), for files whose values the caller checks itself; else pandas' type inference.
    `frame.attrs["lines"]` holds each row's first line in the CSV file (None for Parquet)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises many types for a damaged file
            raise InputError(f"{path}: not a readable Parquet {what} ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else ''})") from None
        frame.attrs["lines"] = None
        return frame
    if suffix != ".csv":
        raise InputError(f"{path}: unknown {what} type {suffix!r} (use .csv or .parquet)")
    content = _decode(path, what)
    header, records, lines = _records(path, content, what)
    if text:
        frame = pd.DataFrame(records, columns=header, dtype=str)
    else:
        try:
            frame = pd.read_csv(io.StringIO(content))
        except Exception as err:  # checked above; anything left is still the file's fault
            raise InputError(f"{path}: cannot parse {what} ({str(err).splitlines()[0]})") from None
        if len(frame) != len(records):  # pandas read a record differently from csv
            raise InputError(f"{path}: cannot parse {what} (rows do not match lines)")
    frame.attrs["lines"] = lines
    return frame


def line_of(frame: pd.DataFrame, position: int) -> int | None:
    """The first file line of the row at `position`, or None when the frame has no lines."""
    lines = frame.attrs.get("lines")
    return None if lines is None else lines[position]


def _decode(path: Path, what: str) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path}: {what} is empty (no header, no rows)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(f"{path} line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); "
                         "save the file as UTF-8") from None


def _records(path: Path, content: str, what: str) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    header: list[str] | None = None
    records, lines = [], []
    end = 0  # last line of the previous record
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record:  # a blank line
                continue
            if header is None:
                header = [c.strip() for c in record]
                repeated = sorted({c for c in header if header.count(c) > 1})
                if repeated:
                    raise InputError(f"{path} line {start}: column(s) {repeated} appear more than once")
                continue
            if len(record) != len(header):
                raise InputError(f"{path} line {start}: {len(record)} fields, the header has {len(header)}")
            records.append(record)
            lines.append(start)
    except csv.Error as err:
        raise InputError(f"{path} line {reader.line_num}: cannot parse {what} ({err})") from None
    if header is None:
        raise InputError(f"{path}: {what} is empty (no header, no rows)")
    return header, records, lines
