"""E-mails of the publishing workflow, sent by CKAN's job worker.

The request composes each mail (in the request's language) and queues it
after the transition committed; the job worker sends it with CKAN's mailer,
so a slow or unreachable mail server never holds up or undoes a request.
A mail that cannot be sent fails its job (logged, kept in RQ's failed job
registry); the audit trail, not the mail, is the record."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

import ckan.model as model
import ckan.plugins.toolkit as tk

log = logging.getLogger(__name__)


def dataset_url(pkg: model.Package) -> str:
    return "{}/dataset/{}".format(tk.config.get("ckan.site_url", "").rstrip("/"), pkg.name)


#: seconds a mail server may take to answer (CKAN's mailer sets no timeout, so a
#: server that accepts and never answers would hold the job worker forever)
SMTP_TIMEOUT = 60


def deliver(user_id: str, subject: str, body: str) -> None:
    """Background job: send one mail. Raises if the mail server refuses."""
    user = model.User.get(user_id)
    if user is None or not user.email or user.state != "active":
        return
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(SMTP_TIMEOUT)
    try:
        tk.mail_user(user, subject, body)
    except Exception as exc:  # the mailer raises MailerException and socket errors
        log.warning("udp_governance: could not mail %s: %s", user.name, exc)
        raise
    finally:
        socket.setdefaulttimeout(previous)


def send(users: Iterable[model.User], subject: str, body: str, exclude: str | None = None) -> int:
    """Queue a mail to each user with an address (not ``exclude``, a user id);
    returns the count queued."""
    queued = 0
    seen: set[str] = set()
    for user in users:
        if user.id in seen or user.id == exclude or not user.email:
            continue
        seen.add(user.id)
        try:
            tk.enqueue_job(deliver, [user.id, subject, body], title=f"udp governance: mail {user.name}")
            queued += 1
        except Exception as exc:  # Redis down: the transition stands, the mail is lost
            log.warning("udp_governance: could not queue a mail to %s: %s", user.name, exc)
    return queued


def _title(pkg: model.Package) -> str:
    return pkg.title or pkg.name


def submitted(pkg: model.Package, reviewers: list[model.User], actor: model.User, reason: str | None) -> int:
    subject = tk._("Review requested: {title}").format(title=_title(pkg))
    body = tk._('{actor} submitted the dataset "{title}" for review.\n\nPlease review it: {url}\n').format(
        actor=actor.display_name, title=_title(pkg), url=dataset_url(pkg)
    )
    if reason:
        body += "\n" + tk._("Comment: {comment}").format(comment=reason) + "\n"
    return send(reviewers, subject, body, exclude=actor.id)


def edit_proposed(pkg: model.Package, reviewers: list[model.User], actor: model.User) -> int:
    subject = tk._("Change to review: {title}").format(title=_title(pkg))
    body = tk._(
        '{actor} proposed a change to the published dataset "{title}". The published '
        "version stays online until the change is approved.\n\nPlease review it: {url}\n"
    ).format(actor=actor.display_name, title=_title(pkg), url=dataset_url(pkg))
    return send(reviewers, subject, body, exclude=actor.id)


def decided(
    pkg: model.Package, author: model.User | None, actor: model.User, approved: bool, reason: str | None
) -> int:
    if author is None:
        return 0
    if approved:
        subject = tk._("Approved: {title}").format(title=_title(pkg))
        body = tk._('{actor} approved the dataset "{title}".\n\n{url}\n')
    else:
        subject = tk._("Rejected: {title}").format(title=_title(pkg))
        body = tk._('{actor} rejected the dataset "{title}".\n\n{url}\n')
    body = body.format(actor=actor.display_name, title=_title(pkg), url=dataset_url(pkg))
    if reason:
        body += "\n" + tk._("Reason: {reason}").format(reason=reason) + "\n"
    return send([author], subject, body, exclude=actor.id)
