"""ckanext-udp: the Urban Data Platform (Urbane Datenplattform) of Karlsruhe."""
