"""A catalogue reload that adds seats moves people off the waitlist and tells them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.app import build_services, make_courier, prepare_database
from bot.config import Settings
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from storage.db import Database
from tests.conftest import AMS, NOW

CATALOGUE = """\
[[community]]
slug = "excursie"
name = "Excursie & Co"
capacity = {capacity}
description = "Samen op pad."
"""


def test_raising_capacity_welcomes_the_first_on_the_waitlist_by_dm(
    tmp_path: Path, settings: Settings, standin: SlackStandIn
) -> None:
    file = tmp_path / "catalogus.toml"
    file.write_text(CATALOGUE.format(capacity=1))
    settings = dataclasses.replace(settings, catalog=file)
    assert prepare_database(settings) == ()
    db = Database(settings.database_url)
    try:
        for user in ("U1", "U2", "U3"):
            with db.write() as session:
                membership.join(session, query="excursie", user_id=user, now=NOW, tz=AMS)
    finally:
        db.dispose()

    file.write_text(CATALOGUE.format(capacity=2))
    promoted = prepare_database(settings)
    assert promoted == (("excursie", "U2"),)
    # The welcome was queued with the reload; the delivery worker sends it.
    services = build_services(settings, courier=False)
    courier = make_courier(services)
    try:
        courier.drain()
    finally:
        courier.close()
        services.shutdown()

    dms = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "U2"]
    assert len(dms) == 1
    assert "Er is een plek vrijgekomen in *Excursie &amp; Co*" in dms[0].args["text"]
    assert not [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "U3"]
