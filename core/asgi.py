"""ASGI entry point: HTTP through Django, WebSocket through Channels (origin-checked,
session-authenticated)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
django_asgi_app = get_asgi_application()

from core.startup import refuse_unsafe_configuration, start_warm_ups  # noqa: E402

refuse_unsafe_configuration()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.routing import websocket_urlpatterns  # noqa: E402
from core.ws_auth import SessionAuthMiddlewareStack  # noqa: E402
from core.ws_origin import SameOriginValidator  # noqa: E402

# Load models (language detection, ...) that apps registered, before the first message.
start_warm_ups()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(
            SessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
