"""Portal pages of the merchants app: dashboard, API keys, settings, merchants."""
