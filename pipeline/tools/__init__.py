"""Tools: the ``spotter`` command line, evaluation over manifests and the benchmarks. Imports every layer,
``realtime`` included; nothing in ``pipeline`` imports it."""
