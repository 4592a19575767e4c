"""Portal pages of the payments app: the requests list and request detail."""
