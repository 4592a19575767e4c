"""A confirmation page before an admin action that cannot be undone.

Django asks before ``delete_selected`` and before nothing else: one click on
"Go" revoked keys, disabled a partner's webhooks or cancelled requests. An
action decorated with ``confirm_first`` answers the first POST with a page
listing the selected rows and what the action will do; only the page's
Confirm button, which posts the same action back with the listed ids and
``post=yes`` (the flag Django's delete_selected page posts), runs it. Cancel
returns to the list. The confirming POST goes through the changelist again,
so the action's permission is checked again (``ModelAdmin.get_actions``) and
rows are read afresh.

Every bulk action is held to ``MAX_ROWS`` (``at_most_rows``): "Select all
1,000,000" on a list and a click on Resend or Pause read every row and ran one
service call for each in one request, past any timeout, half done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse

# The flag Django's own delete_selected confirmation posts.
CONFIRM_FIELD = "post"
CONFIRM_VALUE = "yes"
# One service call per row, inside one HTTP request: more than this would time
# out half done. A larger batch is a job for a command, not a click.
MAX_ROWS = 500

Action = Callable[..., HttpResponse | None]


def confirm_first(*, consequence: str) -> Callable[[Action], Action]:
    """Run the decorated admin action only after a confirmation page.

    ``consequence`` is one or two sentences saying what happens and what
    cannot be undone; the page shows it above the rows. Place the decorator
    under ``@admin.action`` so the action keeps its permissions and name.
    """

    def decorator(action: Action) -> Action:
        @functools.wraps(action)
        def wrapper(modeladmin, request: HttpRequest, queryset):
            if request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE:
                # The page posts at most MAX_ROWS ids; a hand-made POST may
                # also say "select_across" (the whole list).
                if _too_many(modeladmin, request, queryset, wrapper):
                    return None
                return action(modeladmin, request, queryset)
            return _confirmation_page(
                modeladmin,
                request,
                queryset,
                action_name=action.__name__,
                description=str(getattr(wrapper, "short_description", "")),
                consequence=consequence,
            )

        return wrapper

    return decorator


def at_most_rows(action: Action) -> Action:
    """Run the decorated admin action on at most ``MAX_ROWS`` selected rows.

    For actions without a confirmation page (which caps them itself); place
    it under ``@admin.action``. More rows: a warning, and nothing is done.
    """

    @functools.wraps(action)
    def wrapper(modeladmin, request: HttpRequest, queryset):
        if _too_many(modeladmin, request, queryset, wrapper):
            return None
        return action(modeladmin, request, queryset)

    return wrapper


def _too_many(modeladmin, request: HttpRequest, queryset, action) -> bool:
    # A slice, not a COUNT(*) of a growing table.
    if len(queryset.values_list("pk", flat=True)[: MAX_ROWS + 1]) <= MAX_ROWS:
        return False
    _refuse_too_many(modeladmin, request, str(getattr(action, "short_description", "")))
    return True


def _refuse_too_many(modeladmin, request: HttpRequest, description: str) -> None:
    modeladmin.message_user(
        request,
        f"Select at most {MAX_ROWS} rows for “{description}”; nothing was done.",
        messages.WARNING,
    )


def _confirmation_page(
    modeladmin,
    request: HttpRequest,
    queryset,
    *,
    action_name: str,
    description: str,
    consequence: str,
) -> HttpResponse | None:
    opts = modeladmin.model._meta
    rows = list(queryset[: MAX_ROWS + 1])  # no COUNT(*) of a growing table
    if not rows:  # gone since the list was drawn, or filtered out
        modeladmin.message_user(
            request,
            "None of the selected rows is left; nothing was done.",
            messages.WARNING,
        )
        return None
    if len(rows) > MAX_ROWS:
        _refuse_too_many(modeladmin, request, description)
        return None  # the admin redirects back to the list
    listed = []
    for obj in rows:
        try:
            url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[quote(obj.pk)],
            )
        except NoReverseMatch:  # pragma: no cover - every admin has a change view
            url = ""
        listed.append((obj, url))
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": opts,
        "title": f"{description}: are you sure?",
        "description": description,
        "consequence": consequence,
        "rows": listed,
        "action_name": action_name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "confirm_field": CONFIRM_FIELD,
        "confirm_value": CONFIRM_VALUE,
        # The list as it was (its filters and search): Cancel goes back
        # there, and Confirm posts to it, as the action form did.
        "changelist_url": request.get_full_path(),
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)
