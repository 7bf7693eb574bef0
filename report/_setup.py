"""Imported by every report page: puts the repository root on the path and loads stage outputs.

Pages run with report/ as their working directory under both quarto and the fallback renderer.
"""

import json
import sys
from pathlib import Path

ROOT = Path.cwd().parent if Path.cwd().name == "report" else Path.cwd()
sys.path.insert(0, str(ROOT))


def metrics(name: str) -> dict:
    return json.loads((ROOT / "metrics" / f"{name}.json").read_text())
