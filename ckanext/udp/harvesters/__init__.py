"""Harvester classes of ckanext-udp (ckanext-harvest ``IHarvester`` plugins).

The SensorThings harvester is a plugin of its own (``ckanext.udp.sensorthings``);
the LoRaWAN uplink parsers belong to ``udp_sensors`` (``ckanext.udp.sensors.lorawan``).
"""
