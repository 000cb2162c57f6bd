# gunicorn settings of the portal: `make run`, the browser tests and
# production (docs/operations.md) serve CKAN with the same file.
#   CKAN_INI=/path/ckan.ini gunicorn -c config/gunicorn.conf.py --bind 127.0.0.1:5000
# There is no debugger in this path: errors end in the portal's German error page.
import os

wsgi_app = "ckanext.udp.wsgi:application"
# several processes, each with its own database pool; WEB_CONCURRENCY overrides
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
# uploads up to ckan.max_resource_size (100 MB) on a slow link
timeout = 120
graceful_timeout = 30
# recycle workers now and then (memory held by long-lived Python processes)
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# the request id (X-Request-ID) is also on the error page and in the application log
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
