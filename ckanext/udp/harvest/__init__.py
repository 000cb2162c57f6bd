"""Shared harvesting code of ckanext-udp (a library, not a plugin): the base
class of the harvesters in ``ckanext/udp/harvesters/`` (``base``), one mapping
module per kind of source (``dcat``, ``ckan``, ``iso19139``, ``tabular``), the
interface to the workflow (``interfaces``) and the one place that touches
CKAN's search internals (``index``)."""
