"""Report: takes a set's evidence (from a file or a live set), gives report.json, report.html, the angle chart,
the annotated video and the issue clips (the coach summary is written through ``pipeline.coach``)."""
