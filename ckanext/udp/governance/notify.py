"""E-mails of the publishing workflow, sent with CKAN's mailer.

A mail that cannot be sent is logged and does not undo the transition: the
audit trail, not the mail, is the record."""
from __future__ import annotations

import logging
from typing import Iterable, Optional

import ckan.model as model
import ckan.plugins.toolkit as tk

log = logging.getLogger(__name__)


def dataset_url(pkg: model.Package) -> str:
    return "{}/dataset/{}".format(tk.config.get("ckan.site_url", "").rstrip("/"), pkg.name)


def send(users: Iterable[model.User], subject: str, body: str,
         exclude: Optional[str] = None) -> int:
    """Mail each user with an address (not ``exclude``, a user id); returns the count sent."""
    sent = 0
    seen: set[str] = set()
    for user in users:
        if user.id in seen or user.id == exclude or not user.email:
            continue
        seen.add(user.id)
        try:
            tk.mail_user(user, subject, body)
            sent += 1
        except Exception as exc:  # the mailer raises MailerException and socket errors
            log.warning("udp_governance: could not mail %s: %s", user.name, exc)
    return sent


def _title(pkg: model.Package) -> str:
    return pkg.title or pkg.name


def submitted(pkg: model.Package, reviewers: list[model.User], actor: model.User,
              reason: Optional[str]) -> int:
    subject = tk._("Review requested: {title}").format(title=_title(pkg))
    body = tk._(
        "{actor} submitted the dataset \"{title}\" for review.\n\n"
        "Please review it: {url}\n"
    ).format(actor=actor.display_name, title=_title(pkg), url=dataset_url(pkg))
    if reason:
        body += "\n" + tk._("Comment: {comment}").format(comment=reason) + "\n"
    return send(reviewers, subject, body, exclude=actor.id)


def edit_proposed(pkg: model.Package, reviewers: list[model.User], actor: model.User) -> int:
    subject = tk._("Change to review: {title}").format(title=_title(pkg))
    body = tk._(
        "{actor} proposed a change to the published dataset \"{title}\". The published "
        "version stays online until the change is approved.\n\nPlease review it: {url}\n"
    ).format(actor=actor.display_name, title=_title(pkg), url=dataset_url(pkg))
    return send(reviewers, subject, body, exclude=actor.id)


def decided(pkg: model.Package, author: Optional[model.User], actor: model.User,
            approved: bool, reason: Optional[str]) -> int:
    if author is None:
        return 0
    if approved:
        subject = tk._("Approved: {title}").format(title=_title(pkg))
        body = tk._("{actor} approved the dataset \"{title}\".\n\n{url}\n")
    else:
        subject = tk._("Rejected: {title}").format(title=_title(pkg))
        body = tk._("{actor} rejected the dataset \"{title}\".\n\n{url}\n")
    body = body.format(actor=actor.display_name, title=_title(pkg), url=dataset_url(pkg))
    if reason:
        body += "\n" + tk._("Reason: {reason}").format(reason=reason) + "\n"
    return send([author], subject, body, exclude=actor.id)
