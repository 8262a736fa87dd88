from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from core import views as core_views
from core.api import api, api_not_found
from core.media import is_private, serve_private_media

admin.site.site_header = "Atelier administration"
admin.site.site_title = "Atelier admin"

urlpatterns = [
    path("", include("core.account_urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),  # after api.urls: its JSON 404
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    # Private uploads, to the parties only (core/media.py), in development too.
    path("private-media/<path:path>", serve_private_media, name="private_media"),
]

# Apps contribute their pages (named as strings: core imports no app).
for module in ("webchat.urls", "commerce.urls", "bots.urls"):
    urlpatterns.append(path("", include(module)))

if settings.SERVE_MEDIA:
    import posixpath

    from django.http import Http404
    from django.views.static import serve

    def _media(request, path):
        # Private uploads only through their authorised view, never here.
        if is_private(posixpath.normpath(path).lstrip("/")):
            raise Http404("No such file.")
        # MEDIA_ROOT read per request: tests point it at a folder of their own.
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [re_path(r"^media/(?P<path>.*)$", _media, name="media")]

# JSON for API clients (and 503 when the database is unreachable); HTML otherwise.
handler500 = "core.error_views.server_error"
