"""Common wrapper for stage entry points: the stage's outputs commit together (lib.atomic), and bad
input or an unwritable output ends the stage with one clear line, exit 2, previous outputs intact."""

import errno
import sys
from collections.abc import Callable

from lib.atomic import recover, stage_outputs
from lib.errors import InputError

# Failures of the output folder that the user fixes (permissions, space), not bugs of the stage.
_WRITE_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


def run(main: Callable[[], None]) -> None:
    try:
        recover()
        with stage_outputs():
            main()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        if err.errno not in _WRITE_ERRORS:
            raise
        print(f"error: {err.filename or 'output folder'}: {err.strerror} (previous outputs kept)",
              file=sys.stderr)
        sys.exit(2)
