"""The Klimadashboard (plugin ``udp_klima``): tiles of climate indicators from
what the hub holds (sensor series, DataStore tables), defined by sysadmins in
the database and shown at ``/klimadashboard``. Needs ``udp_views`` (uPlot)."""
