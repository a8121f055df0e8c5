"""Sync over Loro's wire protocol (loro-dev/protocol v1): codec, server, client.

``protocol`` is pure Python; ``server`` needs nothing beyond the standard library to
build the ASGI app (uvicorn runs it: ``python -m loro_c serve``); ``client`` needs the
``websockets`` package.  Install both with ``pip install loro_c[server]``.
"""

from .protocol import ProtocolError, MessageTooLarge

__all__ = ["ProtocolError", "MessageTooLarge"]
