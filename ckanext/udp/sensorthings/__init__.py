"""The ``udp_sensorthings`` plugin: an OGC SensorThings API harvester.

``client`` reads a service, ``harvester`` (the plugin: a ckanext-harvest
harvester of type ``sensorthings``) turns Things into datasets, ``mirror``
copies Observations into DataStore tables of its own (table ``udp_sta_mirror``,
migration ``udp_sensorthings``). Usable without ``udp_sensors``.
"""
