"""WebSocket URL routes; each app contributes its own list."""

from django.utils.module_loading import import_string

websocket_urlpatterns: list = []
for _path in ("conversations.routing.websocket_urlpatterns",):
    try:
        websocket_urlpatterns += import_string(_path)
    except ImportError as exc:
        if not (exc.name and _path.startswith(exc.name)):
            raise
