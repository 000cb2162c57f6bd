"""The shared harvesting library of the ckanext-udp harvesters (not a plugin): the base class of the harvester
classes in ``ckanext/udp/harvesters/`` (``base``), one mapping module per kind of source (``dcat``, ``ckan``,
``iso19139``, ``tabular``, with ``crosswalk`` and ``geo``), the interface to the workflow (``interfaces``) and the
in-process job runner (``runner``). CKAN and ckanext-harvest internals go through ``ckanext.udp.compat``."""
