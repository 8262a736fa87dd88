"""Which pages may open a WebSocket to us: the same origin, or ones named in settings.

Channels' ``AllowedHostsOriginValidator`` accepts an Origin whose host is in ALLOWED_HOSTS on
any port and scheme, so a page on ``http://shop.example:6666`` could open an authenticated
socket to ``https://shop.example``. Here a handshake is accepted only when its Origin is the
origin the socket itself was opened on (host and port of the Host header), or is listed in
``WS_ALLOWED_ORIGINS`` (full origins such as ``https://partner.example``; scheme and port must
match), and its Host is an allowed host. Clients that send no Origin are refused.
"""

from __future__ import annotations

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _origin_port(parsed) -> int | None:
    try:
        return parsed.port or _DEFAULT_PORTS.get(parsed.scheme)
    except ValueError:
        return None


class SameOriginValidator(OriginValidator):
    def __init__(self, application) -> None:
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        # The Host header of this handshake is part of the decision, so keep it at hand.
        self._host = ""
        self._secure = scope.get("scheme") == "wss"
        for name, value in scope.get("headers", []):
            if name == b"host":
                self._host = value.decode("latin1")
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None or not parsed_origin.hostname:
            return False
        host, port = split_domain_port(self._host)
        allowed_hosts = settings.ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]"]
        if not host or not validate_host(host, allowed_hosts):
            return False
        listed = [urlparse(origin.strip().lower()) for origin in settings.WS_ALLOWED_ORIGINS]
        for allowed in listed:
            if (
                allowed.scheme == parsed_origin.scheme
                and allowed.hostname == parsed_origin.hostname
                and _origin_port(allowed) == _origin_port(parsed_origin)
            ):
                return True
        if parsed_origin.hostname != host.strip("[]").lower():
            return False
        if self._secure and parsed_origin.scheme != "https":
            return False
        if not self._secure and port and parsed_origin.scheme != "http":
            return False  # a plain socket on an explicit port is not opened by an https page
        # Behind a TLS proxy the Host header usually carries no port: then it is the
        # origin's own default port.
        expected_port = int(port) if port else _DEFAULT_PORTS.get(parsed_origin.scheme)
        return _origin_port(parsed_origin) == expected_port
