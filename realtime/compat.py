"""A fix for the installed web stack, applied in the app's process (``realtime/app_server.py`` and the page).

Streamlit 1.60's compression middleware (``MediaAwareGZipMiddleware``) overrides how Starlette's GZip responders
handle ``http.response.start`` but not the newer Starlette (1.x) rule that goes with it: for a response it will
not compress (audio/video, already encoded, or partial 206) the responder holds the start message back and then
sends the body alone, and uvicorn fails it ("Expected ASGI message 'http.response.start', but got
'http.response.body'"). Every ``st.video`` / ``st.audio`` file and every range request broke (the History
page's recording never played). :func:`fix_streamlit_media` sends the start message in those cases, as
Starlette's own responder does. Applied only when both sides look as described; otherwise left alone.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_done = False


def fix_streamlit_media() -> bool:
    global _done
    if _done:
        return True
    try:
        from starlette.middleware.gzip import IdentityResponder
        from streamlit.web.server.starlette import starlette_gzip_middleware as g
    except ImportError:
        return False
    classes = [getattr(g, n, None) for n in ("_MediaAwareIdentityResponder", "_MediaAwareGZipResponder")]
    handle = getattr(g, "_handle_response_start", None)
    if None in classes or handle is None or "partial_response" not in IdentityResponder.__init__.__code__.co_names:
        return False  # another version: nothing to fix, or not in this way

    async def send_with_compression(self, message) -> None:
        if message["type"] == "http.response.start":
            handle(self, message)
            self.partial_response = message.get("status") == 206
            if self.content_encoding_set or self.content_type_is_excluded or self.partial_response:
                await self.send(self.initial_message)  # not compressed: the body follows as it is
        else:  # Starlette's own handling of the body (IdentityResponder / GZipResponder)
            await type(self).__mro__[1].send_with_compression(self, message)

    for cls in classes:
        cls.send_with_compression = send_with_compression
    _done = True
    return True
