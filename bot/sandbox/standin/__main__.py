"""`python -m bot.sandbox.standin`: serve the stand-in Slack in the foreground."""

from bot.sandbox.standin.command import main

raise SystemExit(main())
