"""CKAN core forms that read fields they never check: a POST without them was a 500 (found by
``tests/security/test_post_sweep.py``, which posts to every POST rule of the URL map).

CKAN's new-resource view (``/<dataset type>/<id>/resource/new`` for every dataset type: ``dataset``,
``harvest`` ..., and udp_dcatde's subclass of it, which takes the dataset type's URL) does ``del data["save"]``
and ``data.pop("id")`` on the posted form before it asks who is posting, so a POST that lacks either field (a
forged cross-site form, a script, an anonymous visitor) raised KeyError: a 500, and nothing told the sender what
was wrong. Here such a POST answers 400 before the view runs; a complete form goes on to CKAN, which refuses it
(403) to whoever may not add a resource. The login form and the profile form read ``login``/``password`` and
``email`` the same way. Only the fields the views read unchecked are required, so a form that CKAN itself
renders is never refused."""

from __future__ import annotations

import logging

from flask import Response, request

from ckanext.udp.security import errors

log = logging.getLogger(__name__)

# URL rule (its end) -> form fields the view reads without checking; by rule, not endpoint: a plugin may
# register its own view under the same URL
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "/<id>/resource/new": ("save", "id"),
    "/user/login": ("login", "password"),  # ckan_authenticator: User.by_email(None)
    "/user/edit": ("email",),  # the profile form: data_dict["email"]
    "/user/edit/<id>": ("email",),
}


def guard() -> Response | None:
    """before_request: None lets the request through."""
    if request.method != "POST" or request.url_rule is None:
        return None
    for suffix, fields in REQUIRED_FIELDS.items():
        if request.url_rule.rule.endswith(suffix):
            missing = [f for f in fields if f not in request.form]
            if missing:
                log.info("%s %s: form without %s", request.method, request.path, ", ".join(missing))
                return errors.malformed()
    return None


__all__ = ["guard", "REQUIRED_FIELDS"]
