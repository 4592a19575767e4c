"""``/portal/plans/…`` (D35), included by ``merchants.portal.urls`` (``portal:``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("plans/", views.plan_list_view, name="plans"),
    path("plans/<str:plan_id>/", views.plan_detail_view, name="plan-detail"),
    path(
        "plans/<str:plan_id>/<str:action>/",
        views.plan_action_view,
        name="plan-action",
    ),
]
