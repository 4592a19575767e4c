from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularRedocView

from merchants.admin_login import admin_login_view, admin_password_change_view

from .views import ApiNotFound, ApiSchemaView

api_v1 = [
    path("schema", ApiSchemaView.as_view(), name="schema"),
    path("", include("merchants.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("recurring.api.urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    # [\s\S], not ".": an encoded newline in the path (%0A) is part of the route
    # too. (An inline (?s) flag would break Django's URL reversing.)
    re_path(r"^api/v1(?:/[\s\S]*)?$", ApiNotFound.as_view()),  # D3, D27
    path(
        "docs/api/",
        SpectacularRedocView.as_view(
            url_name="api:schema", template_name="docs/redoc.html"
        ),
        name="api-docs",
    ),
    path("docs/", include("jopay_project.docs.urls")),
    path("portal/", include("merchants.portal.urls")),
    path("admin/login/", admin_login_view, name="admin-login"),  # D27 limit
    path(
        "admin/password_change/",
        admin_password_change_view,
        name="admin-password-change",  # D27 limit
    ),
    path("admin/", admin.site.urls),
    path("", include("payments.urls")),
    path("", include("merchants.urls")),
    # The site's root leads to the partner docs; browsers ask every page's
    # host for a favicon, and a 404 there is noise in the pay page's console.
    path("", RedirectView.as_view(url="/docs/", permanent=False), name="home"),
    path("favicon.ico", lambda request: HttpResponse(status=204)),
]
