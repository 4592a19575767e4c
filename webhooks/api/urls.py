from django.urls import path

from .views import EventListApi, EventResendApi, WebhookEndpointApi, WebhookTestApi

app_name = "webhooks"
urlpatterns = [
    path("webhooks/endpoint", WebhookEndpointApi.as_view(), name="endpoint"),
    path("webhooks/test", WebhookTestApi.as_view(), name="test"),
    path("events", EventListApi.as_view(), name="events"),
    path("events/<str:event_id>/resend", EventResendApi.as_view(), name="event-resend"),
]
