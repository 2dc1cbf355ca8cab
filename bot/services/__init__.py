"""Domain services: the rules of a community, free of Slack."""
