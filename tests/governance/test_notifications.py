"""Workflow e-mails through CKAN's mailer to a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.header
import socket
from collections.abc import Iterator

import ckan.plugins.toolkit as tk
import pytest
from aiosmtpd.controller import Controller
from govworld import World, act
from udp_testing import run_jobs, stack_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for rcpts, m in self.messages if address in rcpts]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _subject(msg: email.message.Message) -> str:
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def _body(msg: email.message.Message) -> str:
    part = msg.get_payload(0) if msg.is_multipart() else msg
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    port = stack_port(5)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(tk.config, "smtp.server", f"127.0.0.1:{port}")
    try:
        yield handler
    finally:
        controller.stop()


@pytest.mark.usefixtures("with_request_context", "clean_redis")
class TestNotifications:
    def test_mails_are_sent_by_the_job_worker_not_the_request(self, world: World, inbox: Inbox):
        pkg = world.dataset(title="Radverkehrszählung")
        act(world.editor, "udp_submit", id=pkg["id"])
        assert inbox.messages == []  # nothing sent while the request ran
        run_jobs()
        # one mail per reviewer (the admin, the designated reviewer)
        assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == sorted(
            [world.admin["email"], world.reviewer["email"]]
        )

    def test_reviewers_are_mailed_on_submission(self, world: World, inbox: Inbox):
        pkg = world.dataset(title="Baumkataster 2026")
        act(world.editor, "udp_submit", id=pkg["id"], reason="Bitte bis Freitag")
        run_jobs()
        for reviewer in (world.admin, world.reviewer):
            (msg,) = inbox.to(reviewer["email"])
            assert "Baumkataster 2026" in _subject(msg)
            body = _body(msg)
            assert f"/dataset/{pkg['name']}" in body
            assert "Bitte bis Freitag" in body
        assert inbox.to(world.editor["email"]) == []
        assert inbox.to(world.member["email"]) == []
        assert inbox.to(world.editor2["email"]) == []

    def test_author_is_mailed_on_decision(self, world: World, inbox: Inbox):
        pkg = world.dataset(title="Luftmessnetz")
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_reject", id=pkg["id"], reason="Einheit fehlt")
        run_jobs()
        (msg,) = inbox.to(world.editor["email"])
        assert "Luftmessnetz" in _subject(msg) and "Einheit fehlt" in _body(msg)
        assert "Abgelehnt" in _subject(msg)
        act(world.editor, "udp_submit", id=pkg["id"])
        act(world.reviewer, "udp_approve", id=pkg["id"])
        run_jobs()
        decisions = inbox.to(world.editor["email"])
        assert len(decisions) == 2 and "Freigegeben" in _subject(decisions[1])

    def test_reviewers_are_mailed_on_a_proposed_edit(self, world: World, inbox: Inbox):
        pkg = world.published(title="Radwege")
        run_jobs()
        inbox.messages.clear()
        act(world.editor, "package_patch", id=pkg["id"], notes="neu")
        run_jobs()
        assert len(inbox.to(world.reviewer["email"])) == 1
        assert "Radwege" in _subject(inbox.to(world.admin["email"])[0])

    def test_an_unreachable_mail_server_does_not_undo_the_transition(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setitem(tk.config, "smtp.server", f"127.0.0.1:{_free_port()}")
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        assert world.state(pkg) == "in_review"
        from ckan.lib.jobs import get_queue
        from rq.registry import FailedJobRegistry

        run_jobs()  # the worker's mail jobs fail and are kept as failed; nothing is undone
        failed = FailedJobRegistry(queue=get_queue())
        assert sum("mail" in (get_queue().fetch_job(i).meta.get("title") or "") for i in failed.get_job_ids()) == 2
        assert world.state(pkg) == "in_review"
