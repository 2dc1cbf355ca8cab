"""Checks that a message payload is valid Block Kit within Slack's documented limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_FALLBACK_TEXT = 40_000


def _check_text_object(obj: Any, where: str, limit: int, kinds: tuple[str, ...]) -> str:
    assert isinstance(obj, dict), f"{where}: text object expected, got {obj!r}"
    assert obj.get("type") in kinds, f"{where}: text type {obj.get('type')!r} not in {kinds}"
    text = obj.get("text")
    assert isinstance(text, str) and text.strip(), f"{where}: empty text"
    assert len(text) <= limit, f"{where}: {len(text)} characters, the limit is {limit}"
    return text


def _check_button(element: dict[str, Any], where: str) -> None:
    assert element.get("type") == "button", f"{where}: only buttons are used, got {element!r}"
    _check_text_object(element.get("text"), f"{where}.text", MAX_BUTTON_TEXT, ("plain_text",))
    action_id = element.get("action_id")
    assert isinstance(action_id, str) and 0 < len(action_id) <= MAX_ACTION_ID, where
    value = element.get("value", "")
    assert len(value) <= MAX_BUTTON_VALUE, f"{where}: value of {len(value)} characters"
    assert element.get("style") in (None, "primary", "danger"), where


def _check_block(block: dict[str, Any], where: str) -> None:
    kind = block.get("type")
    if kind == "section":
        _check_text_object(
            block.get("text"), f"{where}.text", MAX_SECTION_TEXT, ("mrkdwn", "plain_text")
        )
        if "accessory" in block:
            _check_button(block["accessory"], f"{where}.accessory")
    elif kind == "header":
        _check_text_object(block.get("text"), f"{where}.text", MAX_HEADER_TEXT, ("plain_text",))
    elif kind == "context":
        elements = block.get("elements") or []
        assert 0 < len(elements) <= MAX_CONTEXT_ELEMENTS, f"{where}: {len(elements)} elements"
        for i, element in enumerate(elements):
            _check_text_object(
                element, f"{where}.elements[{i}]", MAX_SECTION_TEXT, ("mrkdwn", "plain_text")
            )
    elif kind == "actions":
        elements = block.get("elements") or []
        assert 0 < len(elements) <= MAX_ACTIONS_ELEMENTS, f"{where}: {len(elements)} elements"
        for i, element in enumerate(elements):
            _check_button(element, f"{where}.elements[{i}]")
        ids = [e["action_id"] for e in elements]
        assert len(ids) == len(set(ids)), f"{where}: action_ids must be unique in a block"
    elif kind == "divider":
        assert set(block) <= {"type", "block_id"}, where
    else:
        raise AssertionError(f"{where}: unexpected block type {kind!r}")


def assert_valid_message(payload: dict[str, Any]) -> None:
    """Fail unless `payload` (an HTTP reply, chat.postMessage/chat.update args or a
    response_url post) is a message Slack would accept: slack_sdk's own validators,
    and the limits of 50 blocks, 3000-character sections, 150-character headers and
    75-character buttons."""
    text = payload.get("text")
    blocks = payload.get("blocks")
    assert text or blocks, f"a message needs text or blocks: {payload!r}"
    if text is not None:
        assert isinstance(text, str), f"text must be a string: {text!r}"
        assert len(text) <= MAX_FALLBACK_TEXT, f"fallback text of {len(text)} characters"
    if not blocks:
        return
    assert isinstance(blocks, list), f"blocks must be a list: {blocks!r}"
    # Notifications and screen readers read the fallback text, so send one with blocks.
    assert text, "a message with blocks needs fallback text"
    assert len(blocks) <= MAX_BLOCKS, f"{len(blocks)} blocks, the limit is {MAX_BLOCKS}"
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), f"duplicate block_ids {block_ids}"
    for i, block in enumerate(blocks):
        where = f"blocks[{i}] ({block.get('type')})"
        _check_block(block, where)
        parsed = Block.parse(block)
        assert parsed is not None and type(parsed) is not Block, f"{where}: unknown block"
        # to_dict() runs every slack_sdk validator of the block and its elements.
        assert parsed.to_dict() == block, f"{where}: slack_sdk reads it differently: {block!r}"


MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000


def assert_valid_view(view: dict[str, Any]) -> None:
    """Fail unless `view` (views.open/update/push/publish) is one Slack would accept:
    slack_sdk's View validators, at most 100 blocks, a title of at most 24 characters,
    private_metadata of at most 3000, and unique block_ids."""
    from slack_sdk.models.views import View

    assert view.get("type") in ("modal", "home"), f"unknown view type {view.get('type')!r}"
    blocks = view.get("blocks") or []
    assert len(blocks) <= MAX_VIEW_BLOCKS, f"{len(blocks)} blocks, the limit is {MAX_VIEW_BLOCKS}"
    if view["type"] == "modal":
        title = view["title"]["text"]
        assert len(title) <= MAX_VIEW_TITLE, f"modal title {title!r} is over 24 characters"
    assert len(view.get("private_metadata") or "") <= MAX_PRIVATE_METADATA
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), f"duplicate block_ids {block_ids}"
    # validate_json() runs every slack_sdk validator of the view, its blocks and elements.
    View(**view).validate_json()
