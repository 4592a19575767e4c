"""WSGI entry of the baseline server: ``gunicorn bench.baseline.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

# Forced, not setdefault: the bench environment names jopay_project.settings.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.baseline.settings"
application = get_wsgi_application()
