"""The one exception type for what a user can fix, shared by every layer (scenes is the lowest; agents, app and
main.py import it from here)."""

from __future__ import annotations


class UserError(ValueError):
    """Input the user can fix — a flag, a config key, a task or scene-option value, an agent hyper-parameter, a
    checkpoint file. `main.py` prints it as one `engram:` line (exit status 2; `--debug` adds the traceback);
    any other exception is a bug and prints its traceback. A ValueError, so callers that validate input and
    catch ValueError (the GUI's task editor, the fuzz tests' contract) see it as before."""
