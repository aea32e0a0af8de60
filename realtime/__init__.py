"""The live coaching app's engine: per-connection sessions, recording, storage, replay.

Nothing here keeps module-level state: every user connection owns its own :class:`LiveSession`
(pose estimator, pipeline, worker threads, recorder), so sessions never share data.
"""
