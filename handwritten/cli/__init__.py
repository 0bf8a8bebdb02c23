"""The ``handwritten`` command line: it parses arguments, calls the library and prints.

With ``--json`` the last stdout line is one JSON object (``predict``: one line per file). Every
error is one line on stderr, never a traceback: exit status 2 for bad input, 1 for a failure
at run time, 130 for Ctrl-C.
"""

from handwritten.cli.main import main

__all__ = ["main"]
