"""WebSocket URL routes; each app contributes its own list."""

from django.utils.module_loading import import_string

websocket_urlpatterns: list = []
for _path in ("conversations.routing.websocket_urlpatterns",):
    websocket_urlpatterns += import_string(_path)
