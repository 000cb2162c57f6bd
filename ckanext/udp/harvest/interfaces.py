"""The documented interface between ckanext-udp's harvesters and the plugins
that care what happens to harvested datasets (the workflow in
``udp_governance``), so that neither imports the other.

A harvest source's JSON configuration may name, besides each harvester's own
options:

- ``udp_workflow_state``: the state new datasets enter (``draft``, the
  default; ``in_review``; ``published``);
- ``udp_access_class``: their access class (``open``, ``internal``,
  ``restricted``; default: the portal's default);
- ``max_archive_per_run``: how many datasets one run may archive (or, without
  the workflow, delete) because the source no longer lists them (default 25);
  a run that would archive more archives none and says so.

The datasets belong to the source's organisation (``owner_org``).
"""

from __future__ import annotations

from typing import Any

from ckan.plugins.interfaces import Interface

STATE_KEY = "udp_workflow_state"
ACCESS_KEY = "udp_access_class"
MAX_ARCHIVE_KEY = "max_archive_per_run"
DEFAULT_MAX_ARCHIVE = 25


class IUdpHarvest(Interface):
    """Implemented by plugins that take part in harvesting (``udp_governance``)."""

    def udp_harvest_validate_source_config(self, config: dict[str, Any]) -> dict[str, str]:
        """Errors ``{key: message}`` in a source configuration's keys this plugin owns."""
        return {}

    def udp_harvest_before_create(
        self, source_config: dict[str, Any], dataset_dict: dict[str, Any], source: Any = None
    ) -> None:
        """Change a harvested dataset's dict before ``package_create`` (called
        with the source's parsed configuration and the harvest source itself);
        e.g. set its initial state."""

    def udp_harvest_new_dataset_state(self, source_config: dict[str, Any]) -> str | None:
        """The state new datasets of this source enter (for the dashboard), or None."""
        return None
