"""Second factor (TOTP + recovery codes), login throttling and the re-authentication window.

Rules (see docs/security.md):
- Artisans must enrol TOTP before selling. Enrolment is confirmed with a valid code.
- A TOTP time-step is accepted at most once per user (no replay within its window).
- Verification attempts are rate limited per user. Sign-in failures are counted per
  (client address, account), per address and per account; a locked-out person unlocks their
  address for their account with a one-time emailed link (no CAPTCHA).
- High-sensitivity actions need a re-authentication (password, plus TOTP when enrolled)
  within the last ``REAUTH_WINDOW_MINUTES`` minutes, stored in the session.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import record_audit_event
from core.models import AuditEvent, RecoveryCode, User
from core.signals import revoke_sessions_on_commit

logger = logging.getLogger(__name__)

REAUTH_SESSION_KEY = "atelier_reauth_at"
RECOVERY_CODE_COUNT = 10
TOTP_INTERVAL = 30
TOTP_VALID_WINDOW = 1  # accept the previous/next 30-second step for clock drift


class SecurityError(Exception):
    """Base for errors shown to the person as a clear message."""

    code = "security_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCode(SecurityError):
    code = "invalid_code"


class TooManyAttempts(SecurityError):
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TwoFactorRequired(SecurityError):
    code = "two_factor_required"


# --- Throttling ---------------------------------------------------------------------------


# When the shared cache (Redis) is unreachable, throttles keep counting in this process:
# weaker than one count for the whole site, but sign-in keeps working and stays limited.
_local_counts = None


def _fallback_cache():
    global _local_counts
    if _local_counts is None:
        from django.core.cache.backends.locmem import LocMemCache

        _local_counts = LocMemCache("atelier-throttle-fallback", {})
    return _local_counts


@dataclass(frozen=True)
class Throttle:
    """Fixed-window failure counter in the cache (Redis in production).

    A cache outage never turns a sign-in into a server error: the counter falls back to
    this process's memory until the shared cache answers again.
    """

    scope: str
    limit: int
    window_seconds: int

    def _key(self, ident: str) -> str:
        digest = hashlib.sha256(ident.lower().encode()).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}"

    def _call(self, operation: str, *args):
        try:
            return getattr(cache, operation)(*args)
        except ValueError:
            raise  # incr on an expired key: the caller handles it
        except Exception as error:  # redis.ConnectionError, TimeoutError, ...
            logger.warning("Shared cache unavailable for throttle %s: %s", self.scope, error)
            return getattr(_fallback_cache(), operation)(*args)

    def failures(self, ident: str) -> int:
        return int(self._call("get", self._key(ident), 0) or 0)

    def is_locked(self, ident: str) -> bool:
        return self.failures(ident) >= self.limit

    def record_failure(self, ident: str) -> int:
        key = self._key(ident)
        if self._call("add", key, 1, self.window_seconds):
            return 1
        try:
            return self._call("incr", key)
        except ValueError:  # expired between add and incr
            self._call("set", key, 1, self.window_seconds)
            return 1

    def reset(self, ident: str) -> None:
        self._call("delete", self._key(ident))


def _lockout_seconds() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def login_pair_throttle() -> Throttle:
    """Failures of one account from one address: the lock a guesser runs into. Keyed by the
    pair, so failing on someone's email elsewhere never locks them out."""
    return Throttle("login-pair", settings.LOGIN_MAX_FAILURES, _lockout_seconds())


def login_ip_throttle() -> Throttle:
    """Failures from one address over all accounts (credential stuffing). More room than a
    pair: shared NATs are common."""
    return Throttle("login-ip", settings.LOGIN_IP_MAX_FAILURES, _lockout_seconds())


def login_account_throttle() -> Throttle:
    """Failures of one account over all addresses (guessing from many addresses). High, and
    an unlocked (address, account) pair passes it, so it cannot shut the owner out."""
    return Throttle("login-account", settings.LOGIN_ACCOUNT_MAX_FAILURES, _lockout_seconds())


def reauth_throttle() -> Throttle:
    """Wrong passwords at re-authentication, per signed-in person."""
    return Throttle("reauth", settings.LOGIN_MAX_FAILURES, _lockout_seconds())


def login_pair_ident(*, ip: str, email: str) -> str:
    return f"{ip}|{email.strip().lower()}"


# --- Unlock by email -------------------------------------------------------------------------

UNLOCK_SALT = "atelier.login-unlock"


def _unlocked_marks() -> Throttle:
    # A pair whose owner followed an unlock link passes the address and account caps for the
    # lockout window (its own pair counter still applies). limit=1: one mark means unlocked.
    return Throttle("login-unlocked", 1, _lockout_seconds())


def _used_unlock_tokens() -> Throttle:
    return Throttle("login-unlock-used", 1, settings.LOGIN_UNLOCK_LINK_MINUTES * 60)


def unlock_mail_throttle() -> Throttle:
    """At most one unlock email per account per lockout window: failing on someone's email
    must not flood their inbox."""
    return Throttle("login-unlock-mail", 1, _lockout_seconds())


def is_pair_unlocked(pair: str) -> bool:
    return _unlocked_marks().is_locked(pair)


def make_unlock_token(*, user: User, ip: str) -> str:
    """A signed, timestamped token naming the account and the address it unlocks (hashed)."""
    payload = {
        "u": user.pk,
        "a": hashlib.sha256(ip.encode()).hexdigest()[:32],
        "n": secrets.token_urlsafe(12),
    }
    return signing.TimestampSigner(salt=UNLOCK_SALT).sign_object(payload, compress=True)


def redeem_unlock_token(*, token: str, ip: str) -> User:
    """Accept an unlock link once, within LOGIN_UNLOCK_LINK_MINUTES, from the address it was
    sent for; clears that (address, account) pair's failures and lets it past the caps.
    Raises InvalidCode with a message for the person otherwise."""
    try:
        payload = signing.TimestampSigner(salt=UNLOCK_SALT).unsign_object(
            token, max_age=settings.LOGIN_UNLOCK_LINK_MINUTES * 60
        )
    except signing.SignatureExpired as error:
        raise InvalidCode(_("This unlock link has expired. Try to sign in again.")) from error
    except signing.BadSignature as error:
        raise InvalidCode(_("This unlock link is not valid.")) from error
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None:
        raise InvalidCode(_("This unlock link is not valid."))
    if not secrets.compare_digest(
        payload.get("a", ""), hashlib.sha256(ip.encode()).hexdigest()[:32]
    ):
        raise InvalidCode(
            _("Open this unlock link on the device (and network) where sign-in was locked.")
        )
    used = _used_unlock_tokens()
    if used.record_failure(str(payload.get("n"))) > 1:
        raise InvalidCode(_("This unlock link was already used."))
    pair = login_pair_ident(ip=ip, email=user.email)
    login_pair_throttle().reset(pair)
    _unlocked_marks().record_failure(pair)
    # The lockout's own audit kind, marked as its end (no new kind: no migration).
    record_audit_event(
        kind=AuditEvent.Kind.LOGIN_LOCKED, actor=user, unlocked_by_email_link=True, address=ip
    )
    return user


def totp_throttle() -> Throttle:
    return Throttle("totp", settings.TOTP_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES * 60)


# --- TOTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    qr_svg_data_uri: str


def begin_totp_enrolment(*, user: User) -> TotpEnrolment:
    """Create (or reuse the pending) secret and return what the enrolment page shows."""
    if user.has_totp:
        raise SecurityError(_("Two-factor authentication is already enabled."))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.save(update_fields=["totp_secret"])
    totp = pyotp.TOTP(user.totp_secret, interval=TOTP_INTERVAL)
    uri = totp.provisioning_uri(name=user.email, issuer_name=settings.TOTP_ISSUER)
    qr = segno.make(uri, error="m")
    return TotpEnrolment(
        secret=user.totp_secret,
        otpauth_uri=uri,
        qr_svg_data_uri=qr.svg_data_uri(scale=5, dark="#1f2933", light="#ffffff"),
    )


def _matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """Return the time-step the code belongs to (within the drift window), else None."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    now = time.time() if now is None else now
    current = int(now // TOTP_INTERVAL)
    for offset in range(-TOTP_VALID_WINDOW, TOTP_VALID_WINDOW + 1):
        step = current + offset
        if secrets.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            return step
    return None


def _check_throttle(user: User) -> None:
    throttle = totp_throttle()
    if throttle.is_locked(str(user.pk)):
        raise TooManyAttempts(
            _("Too many wrong codes. Wait a few minutes and try again."),
            retry_after=throttle.window_seconds,
        )


def verify_totp(*, user: User, code: str, request=None, now: float | None = None) -> None:
    """Accept a TOTP code once. Raises InvalidCode / TooManyAttempts."""
    _check_throttle(user)
    if not user.totp_secret:
        raise InvalidCode(_("Two-factor authentication is not set up for this account."))
    step = _matching_step(user.totp_secret, code, now=now)
    if step is None or step <= user.totp_last_step:
        totp_throttle().record_failure(str(user.pk))
        record_audit_event(
            kind=AuditEvent.Kind.TOTP_FAILED,
            actor=user,
            request=request,
            reason="replayed" if step is not None else "wrong",
        )
        if step is not None:
            raise InvalidCode(_("This code was already used. Wait for the next code."))
        raise InvalidCode(_("That code is not valid. Check your authenticator app's clock."))
    # Atomic compare-and-set: two concurrent requests with the same code cannot both win.
    updated = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if not updated:
        raise InvalidCode(_("This code was already used. Wait for the next code."))
    user.totp_last_step = step
    totp_throttle().reset(str(user.pk))


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _index in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=make_password(code)) for code in codes
    )
    return codes


@transaction.atomic
def confirm_totp_enrolment(*, user: User, code: str, request=None) -> list[str]:
    """Confirm the pending secret with a code; returns fresh recovery codes (shown once)."""
    if user.has_totp:
        raise SecurityError(_("Two-factor authentication is already enabled."))
    verify_totp(user=user, code=code, request=request)
    user.totp_confirmed_at = timezone.now()
    user.save(update_fields=["totp_confirmed_at", "totp_last_step"])
    codes = _new_recovery_codes(user)
    record_audit_event(kind=AuditEvent.Kind.TOTP_ENROLLED, actor=user, request=request)
    return codes


@transaction.atomic
def regenerate_recovery_codes(*, user: User, request=None) -> list[str]:
    if not user.has_totp:
        raise SecurityError(_("Enable two-factor authentication first."))
    codes = _new_recovery_codes(user)
    record_audit_event(kind=AuditEvent.Kind.RECOVERY_CODES_REGENERATED, actor=user, request=request)
    return codes


@transaction.atomic
def use_recovery_code(*, user: User, code: str, request=None) -> None:
    """Accept an unused recovery code exactly once."""
    _check_throttle(user)
    normalised = code.strip().lower()
    candidates = RecoveryCode.objects.select_for_update().filter(user=user, used_at__isnull=True)
    for candidate in candidates:
        if check_password(normalised, candidate.code_hash):
            candidate.used_at = timezone.now()
            candidate.save(update_fields=["used_at"])
            remaining = candidates.exclude(pk=candidate.pk).count()
            record_audit_event(
                kind=AuditEvent.Kind.RECOVERY_CODE_USED,
                actor=user,
                request=request,
                remaining=remaining,
            )
            return
    totp_throttle().record_failure(str(user.pk))
    record_audit_event(
        kind=AuditEvent.Kind.TOTP_FAILED, actor=user, request=request, reason="recovery"
    )
    raise InvalidCode(_("That recovery code is not valid or was already used."))


def verify_second_factor(*, user: User, code: str, request=None) -> None:
    """A 6-digit code is checked as TOTP, anything else as a recovery code."""
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) == 6 and len(code.strip().replace(" ", "")) == 6:
        verify_totp(user=user, code=code, request=request)
    else:
        use_recovery_code(user=user, code=code, request=request)


@transaction.atomic
def disable_totp(*, user: User, request=None) -> None:
    """Remove the second factor (caller must have re-authenticated)."""
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.save(update_fields=["totp_secret", "totp_confirmed_at"])
    RecoveryCode.objects.filter(user=user).delete()
    record_audit_event(kind=AuditEvent.Kind.TOTP_DISABLED, actor=user, request=request)
    revoke_sessions_on_commit(user=user, reason="second_factor_changed")


# --- Re-authentication window --------------------------------------------------------------


def mark_reauthenticated(session, *, at: float | None = None) -> None:
    session[REAUTH_SESSION_KEY] = time.time() if at is None else at


def reauth_age_seconds(session) -> float | None:
    stamp = session.get(REAUTH_SESSION_KEY)
    if stamp is None:
        return None
    return max(0.0, time.time() - float(stamp))


def is_recently_authenticated(session) -> bool:
    age = reauth_age_seconds(session)
    return age is not None and age <= settings.REAUTH_WINDOW_MINUTES * 60


def reauthenticate(*, request, password: str, code: str = "") -> None:
    """Check password (+ second factor when enrolled) and open the re-auth window."""
    user: User = request.user
    throttle = reauth_throttle()
    if throttle.is_locked(str(user.pk)):
        raise TooManyAttempts(
            _("Too many failed attempts. Wait a few minutes and try again."),
            retry_after=throttle.window_seconds,
        )
    if not user.check_password(password):
        throttle.record_failure(str(user.pk))
        record_audit_event(
            kind=AuditEvent.Kind.REAUTH_FAILED, actor=user, request=request, reason="password"
        )
        raise InvalidCode(_("The password is not correct."))
    if user.has_totp:
        if not code.strip():
            raise TwoFactorRequired(_("Enter the code from your authenticator app."))
        verify_second_factor(user=user, code=code, request=request)
    throttle.reset(str(user.pk))
    mark_reauthenticated(request.session)
    record_audit_event(kind=AuditEvent.Kind.REAUTH, actor=user, request=request)
