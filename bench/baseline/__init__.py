"""The floor the API is measured against: a bare Django view doing one INSERT,
served by the same settings, middleware, gunicorn and database as JoPay."""
