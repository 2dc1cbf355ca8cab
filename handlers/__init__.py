"""Slack listeners: parse payloads, call one service, render Block Kit."""
