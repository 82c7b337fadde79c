"""The error type for problems a user can cause and fix (bad file, bad argument).

Every layer may raise it; the CLI prints it as one line ``error: …`` and the GUI shows
it in a message box. Anything else escaping is a bug.
"""


class UserError(Exception):
    """A problem the user can act on; ``str(err)`` is the whole message."""


class FileFormatError(UserError):
    """A file that cannot be read as the format its name promises."""


class Cancelled(Exception):
    """The user stopped a long reading (Cancel in the progress dialog): not an error.

    A reader's ``progress`` callback raises it; readers let it pass through untouched
    (never wrapped as a :class:`FileFormatError`)."""


def error_text(exc: Exception, most: int = 200) -> str:
    """The first line of a library's exception, for a one-line message (its type's name
    when it says nothing)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:most]
