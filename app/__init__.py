"""The Qt layer of Engram: the main window, its display panels, and the workers that feed them.

Nothing here learns or simulates. Panels take plain data (frames, `agents.base.StepTrace`s, metric dicts,
`scenes.base.TaskParam` schemas) through small typed methods; each call replaces what is shown (newest wins),
so a window can hand over the newest item from a bounded buffer and never queue.
"""

from app import qt_compat  # noqa: F401  (before any Qt call: see qt_compat)
