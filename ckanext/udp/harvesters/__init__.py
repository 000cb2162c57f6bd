"""Harvester classes of ckanext-udp, one plugin per kind of source (as in ckanext-dcat): ``dcat``
(``udp_dcat_harvester``), ``ckan`` (``udp_ckan_harvester``), ``csw`` (``udp_csw_harvester``) and ``filedrop``
(``udp_filedrop_harvester``). What they share (base class, mappings, geo, runner) is the library
``ckanext.udp.harvest``.

The SensorThings harvester is a plugin of its own (``ckanext.udp.sensorthings``); the LoRaWAN uplink
parsers belong to ``udp_sensors`` (``ckanext.udp.sensors.lorawan``)."""
