"""A first end-to-end check that the app answers `/cop lijst` over HTTP."""

from tests.conftest import SlackHTTP
from tests.factories import load_shipped_catalog


def test_list_over_http_shows_every_shipped_community(slack: SlackHTTP, services) -> None:
    load_shipped_catalog(services.db)
    response = slack.command("U1", "lijst")
    assert response.status == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    text = str(body["blocks"])
    for slug in (
        "ethiek",
        "lokaal-meten",
        "voorspellen",
        "gebiedsontwikkeling",
        "groene-stad-klein",
        "groene-stad-groot",
    ):
        assert f"`{slug}`" in text
