"""The WebSocket protocol class uvicorn serves with: ``--ws core.ws_server:SlimSansIOProtocol``.

uvicorn's ``websockets-sansio`` protocol (the one chosen in docs/performance.md), with its
per-connection receive queue and writable flag replaced by ``core.aio``'s slim ones: about
3.5 KiB less per open socket, the same behaviour (uvicorn's own calls on them are
``put_nowait``/``get``/``empty`` and ``set``/``clear``/``wait``). Pinned with uvicorn in
requirements.lock; ``tests/core/test_aio.py`` serves a real socket through it.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from core.aio import SlimEvent, SlimQueue


class SlimSansIOProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = SlimQueue()  # type: ignore[assignment]
        self.writable = SlimEvent()  # type: ignore[assignment]
        self.writable.set()
