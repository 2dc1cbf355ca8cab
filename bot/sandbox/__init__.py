"""The sandbox: a stand-in Slack, the console that drives the bot through it, and requests
signed as Slack signs them. For tests, demos and benchmarks; the product imports none of
it, except `cop-bot console`, which starts the console (bot/cli.py)."""
