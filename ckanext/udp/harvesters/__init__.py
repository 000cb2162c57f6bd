"""Harvesters of ckanext-udp: parsers and clients for external sources.

``lorawan`` parses The Things Stack v3 and ChirpStack v4 uplinks (pure functions,
no CKAN imports); the ``udp_sensors`` plugin (``ckanext.udp.sensors``) stores
what they return.
"""
