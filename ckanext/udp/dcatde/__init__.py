"""DCAT-AP.de 3.0 layer of ckanext-udp: controlled vocabularies, RDF profile,
schema and offline SHACL validation."""
