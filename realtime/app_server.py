"""What ``spotter app`` runs: the Streamlit page (``streamlit_app.py``) plus Spotter's own routes on the same
port (``realtime/peer.py``: the page channel's WebRTC offer and replay media), through ``streamlit.starlette.App``.

    streamlit run realtime/app_server.py --server.address 127.0.0.1 --server.port 8501 (+ FLAGS below)

:func:`command` builds that command line; ``spotter app``, ``spotter bench browser`` and the browser tests use it.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file by ``streamlit run``: the repository must be importable
    sys.path.insert(0, str(ROOT))

# Streamlit options that matter for the live loop, also in .streamlit/config.toml (read when started from the
# repository), given on the command line so they hold from any folder:
# * runner.postScriptGC=false: Streamlit runs gc.collect(2) after every script run, and the status fragment
#   reruns every second; with torch and MediaPipe loaded a full collection holds the GIL long enough to stall the
#   pose worker and the WebRTC loop (profile in docs/live.md);
# * server.fileWatcherType=none: no watcher threads polling the sources (no hot reload: this is not a dev server);
# * client.toolbarMode=minimal, client.showErrorDetails=type: no Deploy button or developer menu, no traceback on
#   the page (a page read from a distance, not a dev server).
FLAGS = ["--server.headless", "true", "--browser.gatherUsageStats", "false", "--runner.postScriptGC", "false",
         "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal", "--client.showErrorDetails", "type"]


def command(port: int, address: str = "127.0.0.1", python: str = sys.executable) -> list:
    return [python, "-m", "streamlit", "run", str(ROOT / "realtime" / "app_server.py"), "--server.address",
            address, "--server.port", str(port), *FLAGS]


if __name__ != "__main__":  # imported by the ASGI server (``streamlit run`` finds ``app``)
    import asyncio
    import contextlib

    import mediapipe  # noqa: F401  imported once here, not first in a session's warm-up thread: that import once
    #                   failed (ModuleNotFoundError) while a script run was starting; sys.modules now holds it
    from streamlit.starlette import App

    from realtime.compat import fix_streamlit_media
    from realtime.peer import close_all, routes

    @contextlib.asynccontextmanager
    async def _lifespan(_app):
        yield
        # shutting down (Ctrl+C, SIGTERM): sessions in progress store their sets before the process exits
        await asyncio.get_running_loop().run_in_executor(None, close_all)

    fix_streamlit_media()  # video/audio and range responses (st.video, replays): see realtime/compat.py
    app = App(str(ROOT / "streamlit_app.py"), routes=routes(), lifespan=_lifespan)
