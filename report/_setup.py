"""Imported by every report page: puts the repository root on the path, loads stage outputs and
formats numbers and tables for the text.

Pages run with report/ as their working directory under both quarto and the fallback renderer.
"""

import json
import math
import sys
from pathlib import Path

from IPython.display import Markdown

ROOT = Path.cwd().parent if Path.cwd().name == "report" else Path.cwd()
sys.path.insert(0, str(ROOT))


def metrics(name: str) -> dict:
    return json.loads((ROOT / "metrics" / f"{name}.json").read_text())


def unavailable(message: str) -> Markdown:
    """A plain statement that a part of the report has no input in this run."""
    text = message.strip().rstrip(".")
    if not text.lower().startswith("not available"):
        text = "not available: " + text
    return Markdown(f"> *{text[0].upper() + text[1:]}.*")


def p_text(p: float) -> str:
    """p as a paper writes it: `p < 0.001` or `p = 0.023`."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and value.is_integer() and digits == 0:
        return str(int(value))
    return f"{value:.{digits}f}"


def markdown_table(rows: list[dict], columns: dict[str, str]) -> Markdown:
    """A Markdown table of `rows` with `columns` {key: header}; values already formatted."""
    head = "| " + " | ".join(columns.values()) + " |\n|" + "---|" * len(columns) + "\n"
    body = "\n".join("| " + " | ".join(str(row.get(k, "")) for k in columns) + " |" for row in rows)
    return Markdown(head + body)


def label(human_map: str, article: bool = True) -> str:
    """`the Human PC` (or `Human PC` without the article, for tables and headings) or a measure's
    short name (PATCH, D-PRIME, ...)."""
    from lib.measures import MEASURE_LABELS

    if human_map == "pc":
        return "the Human PC" if article else "Human PC"
    return MEASURE_LABELS.get(human_map, human_map).split(" (")[0]
