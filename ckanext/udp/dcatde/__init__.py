"""DCAT-AP.de 3.0 for ckanext-udp: schema, forms, validators, RDF profile."""
