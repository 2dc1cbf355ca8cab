"""CoP bot: a Slack bot that runs Communities of Practice."""
