"""The bot's Slack scopes are exactly what its code calls: every Web API method the
product calls is in bot/slack_scopes.py, and manifest.yaml grants the scopes those
methods need, nothing more and nothing less."""

from __future__ import annotations

import ast
import functools
import inspect
import re
from pathlib import Path
from typing import Any

import yaml
from slack_sdk import WebClient

from bot import slack_scopes
from bot.sandbox.standin import SlackStandIn
from bot.slack_scopes import BOT_SCOPES, FEATURE_SCOPES, PRODUCT_CALLS, SLACK_RULES
from tests.conftest import SlackHTTP

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "manifest.yaml"
PRODUCT_DIRS = ("bot", "handlers")
# The sandbox (the stand-in Slack and the console that drives it) is for tests and demos,
# not the product talking to Slack; the table itself names every method.
NOT_PRODUCT = {"bot/slack_scopes.py"}
SANDBOX = "bot/sandbox/"
# Called by slack_bolt itself (auth.test, on the first request); our start-up check
# (bot/startup.py) calls it too.
CALLED_BY_BOLT = {"auth.test"}
# What manifest.yaml granted before the scopes were made exact.
OLD_MANIFEST_SCOPES = frozenset(
    {
        "commands", "chat:write", "im:write", "channels:manage", "groups:write",
        "channels:read", "groups:read", "users:read", "im:history", "files:write",
    }
)  # fmt: skip


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def manifest_bot_scopes() -> list[str]:
    return list(manifest()["oauth_config"]["scopes"]["bot"])


@functools.cache
def web_api_methods_of(name: str) -> frozenset[str]:
    """The Web API methods that WebClient.<name>() calls, following its calls of its own
    public methods (files_upload_v2 calls files.getUploadURLExternal, then
    files.completeUploadExternal); empty for anything that is not a WebClient method."""
    attribute = getattr(WebClient, name, None)
    if name.startswith("_") or not callable(attribute):
        return frozenset()
    source = inspect.getsource(attribute)
    found = set(re.findall(r"""api_call\(\s*["']([\w.]+)["']""", source))
    for inner in set(re.findall(r"self\.([a-zA-Z]\w*)\(", source)) - {name}:
        found |= web_api_methods_of(inner)
    return frozenset(found)


def product_sources() -> list[Path]:
    paths = [p for d in PRODUCT_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    return [
        p
        for p in paths
        if (where := p.relative_to(ROOT).as_posix()) not in NOT_PRODUCT
        and not where.startswith(SANDBOX)
    ]


RAW_CALLS = ("api_call",)


def called_methods() -> dict[str, set[str]]:
    """Every Web API method the product code calls, with where: `client.<method>(…)`
    (slack_sdk's WebClient methods, resolved to the Web API methods they call) and
    `api_call("<method>", …)`. A function of ours named like a raw call passes its
    `api_method` on: a pass-through, whose callers name the method."""
    found: dict[str, set[str]] = {}
    for path in product_sources():
        where = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        passed_on: set[ast.AST] = set()
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef) and function.name in RAW_CALLS:
                params = {a.arg for a in function.args.args}
                for node in ast.walk(function):
                    if isinstance(node, ast.Name) and node.id in params:
                        passed_on.add(node)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            methods: set[str] = set()
            if name in RAW_CALLS:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    methods.add(first.value)
                elif first not in passed_on:
                    methods.add(f"<{name} with a method name not written out>")
            else:
                methods |= web_api_methods_of(name)
            for method in methods:
                found.setdefault(method, set()).add(f"{where}:{node.lineno}")
    return found


def test_the_scan_resolves_webclient_methods_to_the_web_api_methods_they_call() -> None:
    assert web_api_methods_of("chat_postMessage") == {"chat.postMessage"}
    assert web_api_methods_of("files_upload_v2") == {
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
    assert web_api_methods_of("not_a_method") == frozenset()


def test_every_web_api_method_the_product_calls_is_in_the_scope_table_and_no_other() -> None:
    called = called_methods()
    # The scan sees the calls it must: if it found nothing, the rest would prove nothing.
    assert {"chat.postMessage", "conversations.history", "files.completeUploadExternal"} <= set(
        called
    )
    missing = {m: sorted(w) for m, w in called.items() if m not in PRODUCT_CALLS}
    assert not missing, f"called but not in bot/slack_scopes.PRODUCT_CALLS: {missing}"
    assert set(PRODUCT_CALLS) == set(called) | CALLED_BY_BOLT, "listed but never called"


def test_bolt_calls_auth_test_on_the_first_request(slack: SlackHTTP, standin: SlackStandIn) -> None:
    assert standin.calls("auth.test") == []
    assert slack.command("U1", "hulp").status == 200
    assert [c.response["ok"] for c in standin.calls("auth.test")] == [True]


def test_every_method_the_product_calls_has_slacks_rule_and_its_conversation_types() -> None:
    for method, use in PRODUCT_CALLS.items():
        rule = SLACK_RULES[method]
        if rule.by_type:
            assert use.on, f"{method}: its scope depends on the conversation type; say which"
            assert set(use.on) <= set(rule.by_type)
        else:
            assert not use.on, f"{method} needs the same scope on every conversation"


def test_the_manifest_grants_exactly_the_scopes_the_code_needs() -> None:
    granted = manifest_bot_scopes()
    assert len(granted) == len(set(granted)), "a scope is listed twice"
    assert set(granted) == BOT_SCOPES, (
        f"granted but not needed: {sorted(set(granted) - BOT_SCOPES)}; "
        f"needed but not granted: {sorted(BOT_SCOPES - set(granted))}"
    )


def test_each_needed_scope_is_needed_by_a_method_the_code_calls_or_a_manifest_feature() -> None:
    features = manifest()["features"]
    assert features.get("slash_commands") and features.get("shortcuts")
    for scope, methods in slack_scopes.scopes_needed().items():
        assert methods or scope in FEATURE_SCOPES, scope


def test_channel_post_recovery_needs_the_history_scopes_the_old_manifest_lacked() -> None:
    needed = slack_scopes.scopes_needed()
    for scope in ("channels:history", "groups:history", "im:history"):
        assert needed[scope] == ["conversations.history"]
    assert {"channels:history", "groups:history"} <= set(manifest_bot_scopes())
    assert not {"channels:history", "groups:history"} & OLD_MANIFEST_SCOPES
    # And what no code uses is no longer asked for.
    assert not {"channels:read", "groups:read"} & set(manifest_bot_scopes())


def test_users_read_is_asked_for_again_for_the_slack_locale_and_nothing_else() -> None:
    assert slack_scopes.scopes_needed()["users:read"] == ["users.info"]
    assert "users:read" in manifest_bot_scopes()
    assert {where.split(":")[0] for where in called_methods()["users.info"]} == {
        "handlers/locale.py"
    }


def test_the_readme_says_under_security_why_each_scope_is_there() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    security = text[text.index("\n## Security") :]
    part = security[security.index("\n### Scopes") :]
    end = part.find("\n## ")
    part = part if end == -1 else part[:end]
    for scope in manifest_bot_scopes():
        assert f"| `{scope}` |" in part, scope
