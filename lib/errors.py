"""The project's own exception: bad input that a user can fix, reported with what and where."""


class InputError(ValueError):
    """Input data or parameters are unusable; the message names the file or key and the problem."""
