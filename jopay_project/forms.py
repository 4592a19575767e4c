"""Behaviour shared by the forms people fill in (portal, onboarding)."""

from __future__ import annotations


class FocusFirstInvalid:
    """A form shown again with errors opens at its first invalid field.

    On a phone the form often sits below a list (the API keys page, settings),
    so the error would be out of sight after the POST; ``autofocus`` makes the
    browser focus and scroll to the field without any script (the portal's
    CSP allows none inline). Django already marks each invalid field
    ``aria-invalid``; a form with only form-wide errors (shown above its
    fields) focuses its first field, just below them. Errors a view adds after
    validation (a service's refusal, ``add_error``) move the focus too.
    """

    def full_clean(self) -> None:
        super().full_clean()
        self._focus_first_invalid()

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        self._focus_first_invalid()

    def _focus_first_invalid(self) -> None:
        if not self._errors:
            return
        visible = [name for name, f in self.fields.items() if not f.widget.is_hidden]
        invalid = [name for name in visible if name in self._errors]
        for name in visible:
            self.fields[name].widget.attrs.pop("autofocus", None)
        for name in (invalid or visible)[:1]:
            self.fields[name].widget.attrs["autofocus"] = True
