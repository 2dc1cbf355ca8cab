"""A local stand-in for the Slack Web API that speaks Slack's HTTP protocol, for tests and demos.

Run it on its own with `python -m bot.sandbox.standin`. Its parts:

- core.py: SlackStandIn, put together from the parts below: start and stop, the routes
  and the dispatch of each Web API call to its method.
- server.py: the HTTP server (threads, keep-alive, request bodies).
- protocol.py: answers in Slack's shapes and request bodies parsed as Slack parses them.
- recording.py: every request recorded as a Call, for tests to read and wait for.
- misbehaviour.py: injected failures, rate limits, slow answers and held calls.
- tokens.py: tokens, their scopes and revocation.
- workspace.py: the simulated workspace (team, channels, users, messages, views, files).
- chat.py, conversations.py, users.py (auth.test, users.info), views.py, files.py: the
  Web API methods, one group each.
- response_urls.py: what the app POSTs to a response_url.
- command.py: `python -m bot.sandbox.standin`.
"""

from bot.sandbox.standin.command import main
from bot.sandbox.standin.core import SlackStandIn
from bot.sandbox.standin.misbehaviour import Gate, Hold
from bot.sandbox.standin.recording import Call

__all__ = ["Call", "Gate", "Hold", "SlackStandIn", "main"]
