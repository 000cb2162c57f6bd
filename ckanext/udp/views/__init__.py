"""The ``udp_views`` plugin: previews for citizens (tables, maps, sensor charts)."""
