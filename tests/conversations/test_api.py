"""The hub's JSON API: history pagination, inbox list with unread counts, uploads, errors."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conversations.models import Attachment, Message
from conversations.services import post_message, start_conversation
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

BASE = "/api/conversations"


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (1200, 900), (200, 90, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 30.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert f"{BASE}/{{conversation_id}}/messages/" in paths
    assert f"{BASE}/{{conversation_id}}/attachments/" in paths


def test_api_needs_a_session(client):
    response = client.get(f"{BASE}/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_history_pages_backwards_and_forwards(buyer_client, conversation, buyer, artisan):
    for i in range(1, 8):
        post_message(conversation=conversation, author=artisan if i % 2 else buyer, text=f"m{i}")
    page = buyer_client.get(f"{BASE}/{conversation.pk}/messages/?limit=3").json()
    assert [m["seq"] for m in page["items"]] == [5, 6, 7]
    assert page["has_more"] is True
    older = buyer_client.get(f"{BASE}/{conversation.pk}/messages/?limit=3&before_seq=5").json()
    assert [m["seq"] for m in older["items"]] == [2, 3, 4]
    newer = buyer_client.get(f"{BASE}/{conversation.pk}/messages/?after_seq=5").json()
    assert [m["text"] for m in newer["items"]] == ["m6", "m7"]
    assert newer["has_more"] is False
    bad = buyer_client.get(f"{BASE}/{conversation.pk}/messages/?limit=0")
    assert bad.status_code == 422
    assert bad.json()["field"] == "limit"


def test_inbox_lists_unread_first_with_counts(client, artisan):
    quiet_buyer = make_user("quiet@example.com")
    chatty_buyer = make_user("chatty@example.com")
    quiet = start_conversation(buyer=quiet_buyer, artisan=artisan, subject="quiet")
    chatty = start_conversation(buyer=chatty_buyer, artisan=artisan, subject="chatty")
    post_message(conversation=chatty, author=chatty_buyer, text="one")
    post_message(conversation=chatty, author=chatty_buyer, text="two")
    post_message(conversation=quiet, author=artisan, text="answered, nothing unread")
    client.force_login(artisan)
    data = client.get(f"{BASE}/").json()
    assert [c["subject"] for c in data["items"]] == ["chatty", "quiet"]
    assert data["items"][0]["unread"] == 2
    assert data["items"][1]["unread"] == 0
    assert data["unread_conversations"] == 1
    searched = client.get(f"{BASE}/?q=answered").json()
    assert [c["subject"] for c in searched["items"]] == ["quiet"]


def test_send_via_api_is_idempotent_and_validates(buyer_client, conversation):
    url = f"{BASE}/{conversation.pk}/messages/"
    first = buyer_client.post(
        url, {"client_id": "api-1", "text": "Hello"}, content_type="application/json"
    )
    again = buyer_client.post(
        url, {"client_id": "api-1", "text": "Hello"}, content_type="application/json"
    )
    assert first.status_code == 200
    assert again.json()["duplicate"] is True
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    missing = buyer_client.post(url, {"text": "no id"}, content_type="application/json")
    assert missing.status_code == 422
    assert missing.json()["field"] == "client_id"
    empty = buyer_client.post(
        url, {"client_id": "api-2", "text": ""}, content_type="application/json"
    )
    assert empty.status_code == 400
    assert empty.json()["code"] == "empty"
    assert Message.objects.count() == 1


def test_someone_elses_conversation_is_404(client, conversation):
    stranger = make_user("nosy@example.com")
    client.force_login(stranger)
    assert client.get(f"{BASE}/{conversation.pk}/messages/").status_code == 404
    response = client.post(
        f"{BASE}/{conversation.pk}/messages/",
        {"client_id": "x", "text": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_image_upload_strips_exif_and_makes_a_thumbnail(buyer_client, conversation, buyer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("holiday.png", _jpeg_with_exif(), content_type="image/png")
    response = buyer_client.post(f"{BASE}/{conversation.pk}/attachments/", {"file": upload})
    assert response.status_code == 200
    data = response.json()
    assert data["content_type"] == "image/jpeg"  # sniffed from bytes, not the name/header
    attachment = Attachment.objects.get(pk=data["id"])
    stored = Image.open(attachment.file.path)
    assert not stored.getexif()
    assert max(Image.open(attachment.thumbnail.path).size) <= 480
    sent = buyer_client.post(
        f"{BASE}/{conversation.pk}/messages/",
        {"client_id": "img-1", "text": "", "attachments": [data["id"]]},
        content_type="application/json",
    ).json()
    assert sent["message"]["kind"] == "image"
    assert sent["message"]["attachments"][0]["id"] == data["id"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"GIF89a" + b"\x00" * 64, "bad_image"),
        (b"%PDF-1.7 not an image", "bad_image"),
        (b"", "empty"),
    ],
)
def test_bad_uploads_get_clear_errors(buyer_client, conversation, payload, code):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = buyer_client.post(
        f"{BASE}/{conversation.pk}/attachments/", {"file": SimpleUploadedFile("x.jpg", payload)}
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Attachment.objects.exists()


def test_oversize_upload_is_refused(buyer_client, conversation, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ATTACHMENT_MAX_BYTES = 1000
    response = buyer_client.post(
        f"{BASE}/{conversation.pk}/attachments/",
        {"file": SimpleUploadedFile("x.jpg", _jpeg_with_exif())},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_report_and_block_endpoints(buyer_client, conversation, buyer, artisan):
    msg = post_message(
        conversation=conversation, author=artisan, text="pay me on western union"
    ).message
    report = buyer_client.post(
        f"{BASE}/messages/{msg.pk}/report/", {"reason": "scam"}, content_type="application/json"
    )
    assert report.status_code == 200
    assert report.json()["status"] == "open"
    assert buyer_client.post(f"{BASE}/users/{artisan.pk}/block/").status_code == 200
    from conversations.models import Block

    assert Block.objects.filter(blocker=buyer, blocked=artisan).exists()


def test_edit_via_api_and_revisions(buyer_client, conversation, buyer):
    msg = post_message(conversation=conversation, author=buyer, text="helo").message
    response = buyer_client.patch(
        f"{BASE}/messages/{msg.pk}/", {"text": "hello"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["edited_at"] is not None
    revisions = buyer_client.get(f"{BASE}/messages/{msg.pk}/revisions/").json()["items"]
    assert [r["text"] for r in revisions] == ["helo"]


def test_a_search_with_a_nul_byte_is_an_ordinary_search(client, buyer, conversation):
    # Regression: GET /api/conversations/?q=%00 was a 500 on PostgreSQL.
    client.force_login(buyer)
    response = client.get("/api/conversations/", {"q": "\x00"})
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [conversation.pk]


def test_a_lone_surrogate_in_message_text_is_stored_as_a_replacement_character(
    buyer_client, conversation
):
    # Regression: "\ud800" in JSON text was a 500 over the API.
    response = buyer_client.post(
        f"/api/conversations/{conversation.pk}/messages/",
        data='{"text": "broken \\ud800 emoji", "client_id": "s-1"}',
        content_type="application/json",
    )
    assert response.status_code in (200, 201), response.content
    assert Message.objects.get(client_id="s-1").text == "broken \ufffd emoji"
