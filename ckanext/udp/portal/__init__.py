"""The ``udp`` plugin: the portal's theme (templates, CSS), German default
locale with the shared translations, portal-wide configuration, the request
guard against CKAN core's 500s, request ids and German error pages, and the
``ckan udp demo`` commands."""
