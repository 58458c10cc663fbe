"""Entry point for gunicorn: `gunicorn -w 4 wsgi:app`.

Served this way the app runs in production mode unless PORTAL_ENV says otherwise, so a
deployment that forgets its secrets refuses to start instead of running insecurely.
"""

import os

os.environ.setdefault("PORTAL_ENV", "production")

from portal import create_app  # noqa: E402

app = create_app()
