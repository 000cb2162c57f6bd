"""The portal as a WSGI application, for gunicorn (``make run``, the browser
tests and production alike): ``CKAN_INI=/path/ckan.ini gunicorn -c
config/gunicorn.conf.py``. The ini's logging sections configure logging, as
they do for the ``ckan`` command."""

from __future__ import annotations

import logging
import os

from ckanext.udp import compat

application = compat.make_wsgi_app(os.environ.get("CKAN_INI"))
# the translations of CKAN's scripts, which only `ckan run` writes (else they stay English)
compat.build_js_translations()

# the ini's logging configuration disables loggers it does not name, gunicorn's
# access and error logs among them: keep them (the access log has the request id)
for _name in ("gunicorn.error", "gunicorn.access"):
    logging.getLogger(_name).disabled = False
