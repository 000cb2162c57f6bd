"""The ``udp_harvest_dashboard`` plugin: the German harvest dashboard for
stewards (``/dashboard/harvest``), a form to add a source, "run now", and the
``ckan udp harvest`` commands with the harvest queue consumers (``consumers``)."""
