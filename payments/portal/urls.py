"""``/portal/requests/…`` (D35), included by ``merchants.portal.urls`` (``portal:``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("requests/", views.request_list_view, name="requests"),
    path(
        "requests/<str:request_id>/", views.request_detail_view, name="request-detail"
    ),
    path(
        "requests/<str:request_id>/attach/",
        views.request_attach_view,
        name="request-attach",
    ),
    path(
        "requests/<str:request_id>/reverify/",
        views.request_reverify_view,
        name="request-reverify",
    ),
    path(
        "requests/<str:request_id>/cancel/",
        views.request_cancel_view,
        name="request-cancel",
    ),
]
