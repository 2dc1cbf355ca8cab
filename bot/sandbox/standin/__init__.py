"""A local stand-in for the Slack Web API that speaks Slack's HTTP protocol, for tests and demos.

Run it on its own with `python -m bot.sandbox.standin`.
"""

from bot.sandbox.standin.core import Call, Hold, SlackStandIn, main

__all__ = ["Call", "Hold", "SlackStandIn", "main"]
