"""The Qt layer of Engram: display panels and (later) the main window and the workers that feed them.

Nothing here learns or simulates. Panels take plain data (frames, `agents.base.StepTrace`s, metric dicts,
`scenes.base.TaskParam` schemas) through small typed methods; each call replaces what is shown (newest wins),
so a window can hand over the newest item from a bounded buffer and never queue.
"""
