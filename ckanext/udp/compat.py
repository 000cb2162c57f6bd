"""The one door of ckanext-udp to CKAN internals: every use of a CKAN (or extension) internal that the toolkit does not
offer goes through a function here, each named in docs/architecture.md and covered by tests/compat/."""

from __future__ import annotations

# --- dcatde ---
# udp_dcatde: CKAN's slug rule for dataset names (ckan.lib.munge, not in the
# toolkit) and the resource form's view class it extends (ckan.views.resource).
from ckan.lib.munge import munge_title_to_name as _munge_title_to_name
from ckan.views.resource import CreateView as ResourceCreateView


def munge_title_to_name(title: str) -> str:
    """A dataset name (URL slug) from a title, as CKAN's forms make it."""
    return _munge_title_to_name(title)


__all__ = ["ResourceCreateView", "munge_title_to_name"]
