# Atelier application image: web (ASGI), Celery worker/beat, Telegram bot, Rasa action server.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock
COPY . .
RUN python manage.py compilemessages --ignore=.venv --verbosity 0 \
    && DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0
RUN useradd --create-home atelier && mkdir -p /app/media /app/var/backups \
    && chown -R atelier /app/media /app/var
USER atelier
EXPOSE 8000
# X-Forwarded-For/-Proto are trusted only from the reverse proxy's address, passed explicitly
# as --forwarded-allow-ips from FORWARDED_ALLOW_IPS (docker-compose.yml sets it; the default
# trusts nobody but loopback). The client address behind them is what sign-in throttling,
# rate limits and the audit log count (docs/security.md, "Trusted proxies").
# SIGTERM (docker stop): uvicorn (exec'd, so it gets the signal) stops accepting, closes every
# WebSocket with 1012 (Service Restart; clients reconnect and resume), lets in-flight requests
# finish for up to 20 s, then exits. docker-compose.yml gives it stop_grace_period 30s.
ENV FORWARDED_ALLOW_IPS=127.0.0.1
CMD ["sh", "-c", "exec uvicorn core.asgi:application --host 0.0.0.0 --port 8000 \
     --ws core.ws_server:SlimSansIOProtocol --ws-per-message-deflate false --lifespan off \
     --timeout-graceful-shutdown 20 \
     --proxy-headers --forwarded-allow-ips \"$FORWARDED_ALLOW_IPS\""]
