"""The OpenAPI 3 description of ckanext-udp's own endpoints (the stock Action
API is described by CKAN's ``help_show`` and its docs). Served at
``/api/udp/openapi.json``; ``tests/api/test_openapi.py`` validates it and
checks that every path is a URL rule of the app."""

from __future__ import annotations

from typing import Any

ERROR_JSON = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}


def _param(
    name: str, where: str, description: str, schema: dict[str, Any] | None = None, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _text(media: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


RDF_MEDIA = ("text/turtle", "application/rdf+xml", "application/ld+json")
VALIDATORS = {
    "ETag": {"schema": {"type": "string"}, "description": "Validator for If-None-Match"},
    "Last-Modified": {"schema": {"type": "string"}, "description": "Validator for If-Modified-Since"},
}


def document(site_url: str, version: str) -> dict[str, Any]:
    rdf_content = {m: {"schema": {"type": "string"}} for m in RDF_MEDIA}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Urbane Datenplattform Karlsruhe: Schnittstellen von ckanext-udp",
            "version": version,
            "description": "DCAT-Katalog, Sensordaten-Downloads, Gesamtabzüge und Änderungs-Feed. Alle Endpunkte sind "
            "öffentlich lesbar und per CORS (GET, HEAD) von anderen Origins nutzbar; "
            "sie liefern, was anonyme Besucher sehen.",
        },
        "servers": [{"url": site_url or "/"}],
        "paths": {
            "/api/3/action/udp_changes": {
                "get": {
                    "summary": "Änderungen des öffentlichen Katalogs seit einem Cursor",
                    "operationId": "udp_changes",
                    "parameters": [
                        _param("since", "query", "Der Wert 'next' der vorigen Antwort; ohne: von Anfang an."),
                        _param(
                            "limit",
                            "query",
                            "Höchstens so viele Einträge (1 bis 1000, Standard 100).",
                            {"type": "integer", "minimum": 1, "maximum": 1000},
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "Eine Seite des Feeds",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "success": {"type": "boolean"},
                                            "result": {
                                                "type": "object",
                                                "required": ["changes", "next", "more"],
                                                "properties": {
                                                    "next": {"type": "string"},
                                                    "more": {"type": "boolean"},
                                                    "changes": {
                                                        "type": "array",
                                                        "items": {
                                                            "type": "object",
                                                            "required": ["type", "id"],
                                                            "properties": {
                                                                "type": {
                                                                    "type": "string",
                                                                    "enum": ["created", "updated", "removed"],
                                                                },
                                                                "id": {"type": "string"},
                                                                "metadata_modified": {"type": "string"},
                                                                "dataset": {"type": "object"},
                                                            },
                                                        },
                                                    },
                                                },
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "400": {
                            "description": "Ungültiger Parameter",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                }
            },
            "/catalog.{format}": {
                "get": {
                    "summary": "Der öffentliche DCAT-AP.de-Katalog, seitenweise (Keyset)",
                    "operationId": "catalog",
                    "parameters": [
                        _param(
                            "format",
                            "path",
                            "ttl, rdf oder jsonld",
                            {"type": "string", "enum": ["ttl", "rdf", "jsonld"]},
                        ),
                        _param("after", "query", "Fortsetzungs-Token aus dem hydra:next-Link"),
                        _param("limit", "query", "Datensätze pro Seite", {"type": "integer", "minimum": 1}),
                    ],
                    "responses": {
                        "200": {"description": "Eine Katalogseite", "headers": VALIDATORS, "content": rdf_content},
                        "304": {"description": "Unverändert"},
                        "400": {"description": "Ungültiger Parameter", "content": rdf_content},
                    },
                }
            },
            "/api/udp/dumps": {
                "get": {
                    "summary": "Die Gesamtabzüge: Dateien, Größe, ETag, Erstellungszeit",
                    "operationId": "dumps",
                    "responses": {
                        "200": {
                            "description": "Liste der Gesamtabzüge",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "built": {"type": "string", "nullable": True},
                                            "datasets": {"type": "integer", "nullable": True},
                                            "tables": {"type": "integer", "nullable": True},
                                            "files": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "name": {"type": "string"},
                                                        "url": {"type": "string"},
                                                        "etag": {"type": "string"},
                                                        "size": {"type": "integer"},
                                                    },
                                                },
                                            },
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/udp/dumps/{name}": {
                "get": {
                    "summary": "Ein Gesamtabzug des öffentlichen Katalogs (nach Änderungen neu erstellt)",
                    "operationId": "dump",
                    "parameters": [
                        _param(
                            "name",
                            "path",
                            "katalog.jsonl (package_show je Zeile), katalog.csv (eine Zeile je Distribution), "
                            "katalog.ttl (DCAT-AP.de) oder daten.zip (alle offenen DataStore-Tabellen als "
                            "Frictionless Data Package)",
                            {"type": "string", "enum": ["katalog.jsonl", "katalog.csv", "katalog.ttl", "daten.zip"]},
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "Die Datei",
                            "headers": VALIDATORS,
                            "content": {
                                "application/x-ndjson": {"schema": {"type": "string"}},
                                "text/csv": {"schema": {"type": "string"}},
                                "text/turtle": {"schema": {"type": "string"}},
                                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                            },
                        },
                        "304": {"description": "Unverändert"},
                        "404": {
                            "description": "Unbekannter Name oder noch nicht erstellt",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                }
            },
            "/dataset/{id}.{format}": {
                "get": {
                    "summary": "Ein Datensatz als DCAT-AP.de",
                    "operationId": "dataset_rdf",
                    "parameters": [
                        _param("id", "path", "Name oder ID des Datensatzes"),
                        _param(
                            "format",
                            "path",
                            "ttl, rdf oder jsonld",
                            {"type": "string", "enum": ["ttl", "rdf", "jsonld"]},
                        ),
                    ],
                    "responses": {
                        "200": {"description": "Der Datensatz", "headers": VALIDATORS, "content": rdf_content},
                        "304": {"description": "Unverändert"},
                        "404": {"description": "Nicht gefunden oder nicht öffentlich"},
                    },
                }
            },
            "/dataset/{id}/sensors/{kind}.{fmt}": {
                "get": {
                    "summary": "Eine Sensor-Zeitreihe als CSV oder JSON",
                    "operationId": "sensor_download",
                    "parameters": [
                        _param("id", "path", "Name oder ID des Datensatzes"),
                        _param(
                            "kind",
                            "path",
                            "observations, latest oder hourly",
                            {"type": "string", "enum": ["observations", "latest", "hourly"]},
                        ),
                        _param("fmt", "path", "csv oder json", {"type": "string", "enum": ["csv", "json"]}),
                        _param("from", "query", "Beginn (ISO 8601, UTC)", {"type": "string", "format": "date-time"}),
                        _param(
                            "to", "query", "Ende, exklusiv (ISO 8601, UTC)", {"type": "string", "format": "date-time"}
                        ),
                        _param("device", "query", "Nur dieses Gerät"),
                        _param("after", "query", "Ankunfts-Cursor (nur observations), aus der letzten Antwort"),
                        _param("limit", "query", "Zeilen pro Seite, nur mit after", {"type": "integer", "minimum": 1}),
                    ],
                    "responses": {
                        "200": {
                            "description": "Die Zeitreihe",
                            "headers": VALIDATORS,
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                "application/json": {"schema": {"type": "object"}},
                            },
                        },
                        "304": {"description": "Unverändert"},
                        "400": {
                            "description": "Ungültiger Parameter",
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                "application/json": {"schema": ERROR_JSON},
                            },
                        },
                        "404": {"description": "Keine Zeitreihe oder nicht öffentlich"},
                    },
                }
            },
        },
    }
