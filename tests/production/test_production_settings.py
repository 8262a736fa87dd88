"""Production is a configuration we test: DEBUG off refuses unsafe choices at start-up.

Regression for the audit's critical finding: with DEBUG off the dev payment gateway was
accepted, and ``POST /pay/dev/<id>/confirm/`` let a buyer mark their own order paid.
"""

from __future__ import annotations

from tests.production.support import STRIPE_KEYS, manage, production_env, run_python

IMPORT_ASGI = "import core.asgi; print('SERVING')"


def test_the_dev_gateway_is_a_system_check_error_with_debug_off():
    # Given production settings that select the dev gateway
    env = production_env(PAYMENT_GATEWAY="dev")
    # When the checks run
    result = manage("check", env=env)
    # Then they fail naming the dev gateway
    assert result.returncode != 0
    assert "commerce.payments.E002" in result.stderr
    assert "dev gateway" in result.stderr


def test_the_asgi_server_refuses_to_start_with_the_dev_gateway():
    result = run_python(IMPORT_ASGI, production_env(PAYMENT_GATEWAY="dev"))
    assert "SERVING" not in result.stdout
    assert "Refusing to start" in result.stderr
    assert "commerce.payments.E002" in result.stderr


def test_the_wsgi_entry_point_refuses_too():
    result = run_python("import core.wsgi; print('SERVING')", production_env(PAYMENT_GATEWAY="dev"))
    assert "SERVING" not in result.stdout
    assert "commerce.payments.E002" in result.stderr


def test_no_gateway_at_all_is_refused_and_dev_is_not_the_default_in_production():
    env = production_env()
    result = run_python(
        "import django; django.setup(); from django.conf import settings;"
        "print(repr(settings.PAYMENT_GATEWAY), settings.DEV_GATEWAY_ALLOWED)",
        env,
    )
    assert result.stdout.split() == ["''", "False"], result.stderr
    check = manage("check", env=env)
    assert check.returncode != 0
    assert "commerce.payments.E003" in check.stderr


def test_a_real_provider_without_its_keys_is_refused():
    env = production_env(PAYMENT_GATEWAY="stripe")
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "commerce.payments.E001" in result.stderr
    assert "STRIPE_SECRET_KEY" in result.stderr


def test_a_missing_secret_key_is_refused():
    env = production_env(**STRIPE_KEYS, DJANGO_SECRET_KEY=None)
    result = run_python(IMPORT_ASGI, env)
    assert "SERVING" not in result.stdout
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_missing_encryption_keys_are_refused():
    # Given production without keys for data at rest
    env = production_env(**STRIPE_KEYS, FIELD_ENCRYPTION_KEYS="")
    # Then the ASGI entry point's system checks refuse to serve
    served = run_python(IMPORT_ASGI, env)
    assert "SERVING" not in served.stdout
    assert "core.E010" in served.stderr


def test_check_deploy_is_clean_with_a_configured_provider():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(**STRIPE_KEYS)
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_dev_confirm_routes_do_not_exist_in_production():
    # Given a correctly configured production process
    code = (
        "import django; django.setup();"
        "from django.test import Client; from django.urls import NoReverseMatch, reverse;"
        "import core.asgi;"
        "c = Client(HTTP_X_FORWARDED_PROTO='https');"
        "print('confirm', c.post('/pay/dev/pay_x/confirm/', {'outcome': 'ok'}).status_code);"
        "print('webhook', c.post('/webhooks/dev/', b'{}', content_type='application/json').status_code);"
        "\ntry:\n    reverse('commerce:dev_confirm', args=['x']); print('reverse found')\n"
        "except NoReverseMatch:\n    print('reverse missing')\n"
        "from commerce.payments.registry import get_gateway; from commerce.payments.types import GatewayNotConfigured\n"
        "try:\n    get_gateway('dev'); print('gateway built')\nexcept GatewayNotConfigured:\n    print('gateway refused')\n"
    )
    env = production_env(**STRIPE_KEYS, DJANGO_ALLOWED_HOSTS="testserver")
    result = run_python(code, env)
    # Then the confirm page and the dev webhook are 404 and the gateway cannot be built
    lines = result.stdout.splitlines()
    assert "confirm 404" in lines, result.stdout + result.stderr
    assert "webhook 404" in lines
    assert "reverse missing" in lines
    assert "gateway refused" in lines


def test_production_security_headers_and_cookie_flags(production_static_root):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS >= 31536000, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS);"
        "from django.test import Client; import core.asgi;"
        "r = Client(HTTP_X_FORWARDED_PROTO='https').get('/accounts/login/');"
        "print(r.status_code, r.headers.get('Strict-Transport-Security'), r.headers.get('X-Content-Type-Options'));"
        "print(Client().get('/accounts/login/').status_code)"
    )
    env = production_env(
        **STRIPE_KEYS, DJANGO_ALLOWED_HOSTS="testserver", STATIC_ROOT=production_static_root
    )
    result = run_python(code, env)
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout + result.stderr[-2000:]
    assert lines[0] == "True True True True True DENY"
    assert lines[1] == "200 max-age=31536000; includeSubDomains; preload nosniff"
    # plain HTTP is redirected to HTTPS
    assert lines[2] == "301"
