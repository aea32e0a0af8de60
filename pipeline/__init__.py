"""Spotter's analysis pipeline, in flow order (see ``../shared/docs/design.md`` and the README):

* ``intake/``   a video file or camera frame -> upright RGB frames with real timestamps, image statistics
* ``pose/``     frames -> 33 landmarks -> cleaned, subject-persistent pose; quality checks (QC)
* ``movement/`` cleaned pose -> exercise (router) -> reps, per-rep metrics, issues, variations (evidence)
* ``coach/``    evidence -> knowledge cards -> summary (local model | deterministic) -> verifier
* ``report/``   evidence + summary -> report.json, report.html, chart, annotated video, issue clips
* ``live.py`` / ``analyze.py``  the two clocks: the same stages one frame at a time, or in a loop over a file
* ``tools/``    command line, evaluation and benchmarks (the only place that imports ``realtime``)

``schema.py`` (the typed, versioned report and evidence models) and ``errors.py`` sit under every stage.
A module imports only from its own stage or the ones listed before it.
"""
