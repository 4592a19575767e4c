"""Public merchant pages outside the API: onboarding (D35: ``/onboard/<token>/``)."""

from django.urls import path

from .onboarding import onboarding_page

urlpatterns = [
    path("onboard/<str:token>/", onboarding_page, name="merchant-onboarding"),
]
