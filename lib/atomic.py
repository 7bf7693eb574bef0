"""A stage's outputs commit together: every file or folder a stage writes goes first to a
temporary sibling unique to this process, and all are moved into place only when the whole stage
has succeeded. A failure (an InputError, a full disk, Ctrl-C) removes the temporaries and leaves
the previous outputs as they were; no stage ever leaves a mix of two runs' outputs.

- `stage_outputs()`: the transaction (stages/_run.py opens one around every stage's main).
- `writing(target)`: the temporary path to write `target` to; inside a transaction it is moved
  at commit, outside one (a lib function called on its own) as soon as the block ends.
- `recover()`: run before every stage; finishes the commit of a process killed while moving its
  outputs into place (its journal lists the moves; every temporary it names is complete, so
  finishing the moves is right), and removes the temporaries of killed processes.

Temporary names are `<name>.partial-<pid>-<token>` beside their target (same file system, so a
rename is atomic), ignored by .gitignore and .dvcignore while they exist. The journal of a commit
in progress is `.partial-<pid>-<token>.journal` in the repository root.

Written here rather than taken from a library: atomic-write packages replace one file; none
commits a set of files and folders with recovery after kill -9.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from lib import paths

MARK = ".partial-"
_NAME = re.compile(r"\.partial-(\d+)-[0-9a-f]+")
# Where stages write: the recovery scan looks here (not under data/raw, the study's inputs).
OUTPUT_ROOTS = (paths.DATA, paths.METRICS, paths.REPORT)

_active: list[_Transaction] = []


class _Transaction:
    def __init__(self) -> None:
        self.token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.moves: list[tuple[Path, Path]] = []  # (temporary, target)

    def temporary(self, target: Path) -> Path:
        target = Path(target)
        if any(t == target for _, t in self.moves):
            raise RuntimeError(f"{target} is written twice in one stage")
        tmp = target.with_name(f"{target.name}{MARK}{self.token}")
        remove_path(tmp)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        self.moves.append((tmp, target))
        return tmp

    def commit(self) -> None:
        moves = [(tmp, target) for tmp, target in self.moves if tmp.exists()]
        if not moves:
            return
        journal = paths.ROOT / f"{MARK}{self.token}.journal"
        journal.write_text(json.dumps([[str(t), str(d)] for t, d in moves]))
        _apply(moves)
        journal.unlink()

    def discard(self) -> None:
        for tmp, _ in self.moves:
            remove_path(tmp)


def _apply(moves: list[tuple[Path, Path]]) -> None:
    """Move each temporary onto its target (the previous target removed first); idempotent, so a
    journal can be replayed after a kill at any point of it."""
    for tmp, target in moves:
        if not tmp.exists():
            continue  # moved before the kill
        if tmp.is_dir() and not tmp.is_symlink():
            _replace_folder(tmp, target)
        else:
            tmp.replace(target)


def _replace_folder(tmp: Path, target: Path, attempts: int = 5) -> None:
    """rename(2) cannot replace a non-empty folder: move the old one aside first. Another process
    committing the same folder at the same moment may put its own back in between; retry."""
    old = target.with_name(f"{target.name}{MARK}{os.getpid()}-0old")
    for _ in range(attempts):
        try:
            target.rename(old)
        except FileNotFoundError:
            pass  # absent (first run, or another process moved it aside)
        try:
            tmp.rename(target)
            break
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    else:
        raise OSError(errno.EBUSY, "another process keeps replacing it", str(target))
    remove_path(old)


def remove_path(path: Path) -> None:
    """Delete a file, link or folder at `path`; nothing if there is none."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def stage_outputs() -> Iterator[_Transaction]:
    """Every `writing` inside the block is committed at its end if the block succeeds, and
    discarded if it raises (anything, KeyboardInterrupt included)."""
    txn = _Transaction()
    _active.append(txn)
    try:
        yield txn
    except BaseException:
        txn.discard()
        raise
    else:
        try:
            txn.commit()
        except BaseException:
            txn.discard()
            raise
    finally:
        _active.remove(txn)


@contextlib.contextmanager
def writing(target: Path) -> Iterator[Path]:
    """The temporary path to write `target` (a file or a folder) to, committed with the stage."""
    if _active:
        yield _active[-1].temporary(target)
        return
    with stage_outputs() as txn:
        yield txn.temporary(target)


def write_text(target: Path, text: str) -> None:
    with writing(target) as tmp:
        tmp.write_text(text)


def write_json(target: Path, obj: object) -> None:
    """JSON as every metrics file is written: indented, newline-terminated; NaN and inf refused
    (not valid JSON), naming the file and the first key that holds one."""
    bad = _non_finite(obj)
    if bad is not None:
        from lib.errors import InputError

        raise InputError(f"{target}: would hold a non-finite number at `{bad}`; not writing it "
                         "(a NaN metric means an input had no variance or too few values)")
    write_text(target, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def _non_finite(obj: object, where: str = "") -> str | None:
    import math

    if isinstance(obj, float) and not math.isfinite(obj):
        return where or "(top level)"
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list | tuple):
        items = enumerate(obj)
    else:
        return None
    for key, value in items:
        found = _non_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _leftovers(root: Path) -> Iterator[Path]:
    """Temporaries under `root`, not descending into them (a store's chunks are not leftovers)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            if MARK in name:
                yield Path(dirpath) / name
        dirnames[:] = [d for d in dirnames if MARK not in d and d != "raw"]


def recover(roots: tuple[Path, ...] | None = None) -> list[Path]:
    """Finish killed processes' interrupted commits, then remove their temporaries under `roots`
    (default OUTPUT_ROOTS); the live processes' are left alone. Returns what was removed or
    completed."""
    roots = OUTPUT_ROOTS if roots is None else roots
    done: list[Path] = []
    for journal in sorted(paths.ROOT.glob(f"{MARK}*.journal")):
        match = _NAME.search(journal.name)
        if match is None or _alive(int(match.group(1))):
            continue
        try:
            moves = [(Path(t), Path(d)) for t, d in json.loads(journal.read_text())]
        except (ValueError, TypeError):
            moves = []  # killed while writing the journal itself: nothing was moved yet
        _apply(moves)
        journal.unlink()
        done += [d for _, d in moves]
    for root in roots:
        for leftover in list(_leftovers(root)):
            match = _NAME.search(leftover.name)
            if match is not None and not _alive(int(match.group(1))):
                remove_path(leftover)
                done.append(leftover)
    return done
