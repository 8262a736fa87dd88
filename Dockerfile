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
CMD ["uvicorn", "core.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off", \
     "--timeout-graceful-shutdown", "20", "--proxy-headers"]
# SIGTERM (docker stop): uvicorn stops accepting, closes every WebSocket with 1012 (Service
# Restart; clients reconnect and resume), lets in-flight requests finish for up to 20 s,
# then exits. docker-compose.yml gives it stop_grace_period 30s. docs/operations.md.
# X-Forwarded-For/-Proto are trusted only from the reverse proxy's address: set
# FORWARDED_ALLOW_IPS (read by uvicorn) to it, as docker-compose.yml does.
