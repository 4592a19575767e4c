"""The partner portal, mounted at ``/portal/`` (D35). Namespace ``portal``.

The payments, webhooks and recurring apps contribute their pages through
``include`` (their URL names join this namespace: ``portal:requests``).
"""

from django.urls import include, path

from .auth import login_id_token_view, login_view, logout_view, mode_view
from .views.activity import activity_view
from .views.dashboard import dashboard_view
from .views.fx import fx_override_remove_view, fx_override_set_view
from .views.keys import api_key_revoke_view, api_key_scopes_view, api_keys_view
from .views.merchants import (
    merchant_detail_view,
    merchant_disable_view,
    merchant_list_view,
    merchant_rename_view,
)
from .views.password import password_view
from .views.settings import settings_view

app_name = "portal"

urlpatterns = [
    path("", dashboard_view, name="dashboard"),
    path("login/", login_view, name="login"),
    # D33 names the route without a slash; both spellings answer (a POST would
    # lose its body to the APPEND_SLASH redirect).
    path("login/id-token", login_id_token_view, name="login-id-token"),
    path("login/id-token/", login_id_token_view),
    path("logout/", logout_view, name="logout"),
    path("mode/", mode_view, name="mode"),
    path("api-keys/", api_keys_view, name="api-keys"),
    path("api-keys/<str:key_id>/revoke/", api_key_revoke_view, name="api-key-revoke"),
    path("api-keys/<str:key_id>/scopes/", api_key_scopes_view, name="api-key-scopes"),
    path("settings/", settings_view, name="settings"),
    path("activity/", activity_view, name="activity"),
    path("password/", password_view, name="password"),
    path("settings/fx/", fx_override_set_view, name="settings-fx"),
    path(
        "settings/fx/<str:currency>/remove/",
        fx_override_remove_view,
        name="settings-fx-remove",
    ),
    path("merchants/", merchant_list_view, name="merchants"),
    path("merchants/<str:merchant_id>/", merchant_detail_view, name="merchant-detail"),
    path(
        "merchants/<str:merchant_id>/name/",
        merchant_rename_view,
        name="merchant-rename",
    ),
    path(
        "merchants/<str:merchant_id>/disable/",
        merchant_disable_view,
        name="merchant-disable",
    ),
    path("", include("payments.portal.urls")),
    path("", include("webhooks.portal.urls")),
    path("", include("recurring.portal.urls")),
]
