"""Tools around the live engine, not part of it: benchmarks (``bench``: the live path under a real-time camera;
``bench_browser``: the real app in headless Chromium, also the browser tests' harness; ``speech_bench``: the voice's
figures) and the demo pictures of the live page (``page_demo``). The engine (``realtime/``) never imports these."""
