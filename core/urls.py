from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from core import views as core_views
from core.api import api

admin.site.site_header = "Atelier administration"
admin.site.site_title = "Atelier admin"

urlpatterns = [
    path("", include("core.account_urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
]

# Apps contribute their pages (named as strings: core imports no app).
for module in ("webchat.urls", "commerce.urls", "bots.urls"):
    urlpatterns.append(path("", include(module)))

if settings.SERVE_MEDIA:
    from django.urls import re_path
    from django.views.static import serve

    def _media(request, path):
        # MEDIA_ROOT read per request: tests point it at a folder of their own.
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [re_path(r"^media/(?P<path>.*)$", _media, name="media")]
