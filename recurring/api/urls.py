from django.urls import path

from .views import (
    PlanCancelApi,
    PlanCollectionApi,
    PlanDetailApi,
    PlanPauseApi,
    PlanResumeApi,
)

app_name = "recurring"
urlpatterns = [
    path("recurring/plans", PlanCollectionApi.as_view(), name="collection"),
    path("recurring/plans/<str:plan_id>", PlanDetailApi.as_view(), name="detail"),
    path("recurring/plans/<str:plan_id>/pause", PlanPauseApi.as_view(), name="pause"),
    path(
        "recurring/plans/<str:plan_id>/resume", PlanResumeApi.as_view(), name="resume"
    ),
    path(
        "recurring/plans/<str:plan_id>/cancel", PlanCancelApi.as_view(), name="cancel"
    ),
]
