"""The two CKAN internals this plugin needs, reached in one place.

- The permission labels of a dataset: the one visibility mechanism every
  channel shares. The governance plugin (``udp_governance``) provides them
  through CKAN's ``IPermissionLabels`` interface; an anonymous
  ``package_search`` filters on exactly these labels, so the change feed
  asks the same question and cannot drift from it.
- ``DataError``: the exception the Action API answers with 400 (a
  ``ValidationError`` answers 409).
"""
from __future__ import annotations

from ckan.lib.navl.dictization_functions import DataError
from ckan.lib.plugins import get_permission_labels

import ckan.model as model

PUBLIC_LABEL = "public"


def is_public(pkg: model.Package) -> bool:
    """Would an anonymous ``package_search`` show this dataset? Its three
    filters: ``state:active``, ``capacity:public`` (not ``private``) and the
    ``public`` permission label."""
    if pkg.state != "active" or pkg.private:
        return False
    return PUBLIC_LABEL in get_permission_labels().get_dataset_labels(pkg)


__all__ = ["DataError", "is_public"]
