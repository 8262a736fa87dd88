from django.urls import path

from bots import views

app_name = "bots"

urlpatterns = [
    path("telegram/webhook/", views.telegram_webhook, name="telegram_webhook"),
    path("accounts/telegram/link/", views.create_telegram_link_code, name="telegram_link"),
]
