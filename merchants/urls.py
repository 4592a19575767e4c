"""Public merchant pages outside the API: onboarding (D35: ``/onboard/<token>/``)."""

from django.urls import path

from .onboarding import onboarding_done, onboarding_page

urlpatterns = [
    # Before the token route, which would take "done" as a token.
    path("onboard/done/", onboarding_done, name="merchant-onboarding-done"),
    path("onboard/<str:token>/", onboarding_page, name="merchant-onboarding"),
]
