"""Session authentication for WebSockets without serialising every handshake.

Channels' AuthMiddleware loads the user through a thread-sensitive sync call, so every
handshake in the process waits for one shared thread (asgiref #218); a burst of
reconnecting clients then times out. Loading the session's user is one independent read,
safe on any pool thread.
"""

from channels.auth import AuthMiddleware, get_user
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware

_load_user = database_sync_to_async(get_user.func, thread_sensitive=False)


class ConcurrentAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope):
        scope["user"]._wrapped = await _load_user(scope)


def SessionAuthMiddlewareStack(inner):  # noqa: N802 - mirrors channels' AuthMiddlewareStack
    return CookieMiddleware(SessionMiddleware(ConcurrentAuthMiddleware(inner)))
