"""Common wrapper for stage entry points: bad input ends the stage with one clear line, exit 2."""

import sys
from collections.abc import Callable

from lib.errors import InputError


def run(main: Callable[[], None]) -> None:
    try:
        main()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
