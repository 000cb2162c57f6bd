"""The ``udp_sensors`` plugin: LoRaWAN uplinks from MQTT (``ckan udp sensors
consume``) and webhooks into DataStore time series per dataset, with stable
CSV/JSON download URLs. Parsing is in ``ckanext.udp.sensors.lorawan``."""

from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk


@tk.blanket.config_declarations
@tk.blanket.blueprints
class SensorsPlugin(p.SingletonPlugin):
    p.implements(p.IClick)

    # IClick: ``ckan udp sensors ...`` lives in the ``udp`` group of the udp plugin
    def get_commands(self) -> list[Any]:
        from ckanext.udp.commands import register
        from ckanext.udp.sensors.cli import sensors

        return register(sensors)


__all__ = ["SensorsPlugin"]
