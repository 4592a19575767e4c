"""``/portal/webhooks/…``; included by ``merchants.portal.urls`` (namespace portal)."""

from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/", views.webhooks_view, name="webhooks"),
    path("webhooks/url/", views.webhook_url_view, name="webhook-url"),
    path("webhooks/enabled/", views.webhook_enabled_view, name="webhook-enabled"),
    path("webhooks/secret/", views.webhook_secret_view, name="webhook-secret"),
    path("webhooks/rotate/", views.webhook_rotate_view, name="webhook-rotate"),
    path(
        "webhooks/rotate/confirm/",
        views.webhook_rotation_confirm_view,
        name="webhook-rotation-confirm",
    ),
    path("webhooks/test/", views.webhook_test_view, name="webhook-test"),
    path(
        "webhooks/deliveries/<str:delivery_id>/resend/",
        views.webhook_resend_view,
        name="webhook-resend",
    ),
    path(
        "webhooks/events/<str:event_id>/send/",
        views.webhook_event_send_view,
        name="webhook-event-send",
    ),
]
