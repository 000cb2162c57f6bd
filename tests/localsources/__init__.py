"""Real local stand-ins for remote sources, shared by the harvester tests, the
transparency-sync tests and the benchmarks: an HTTP server with hostile
behaviours (:mod:`.site`), the real DCAT-AP.de catalogs split into pages
(:mod:`.catalogs`), a second stock CKAN (:mod:`.second_ckan`, started by
``scripts/second_ckan.sh``) and pycsw (:mod:`.pycsw`, ``scripts/pycsw.sh``).
Nothing here is a mock: every source answers over TCP on 127.0.0.1."""
