"""ServiceErrors as text keys: every key a use case raises has its texts, in both languages."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bot.services.base import ServiceError
from bot.tg.texts import ERRORS, refusal

BOT = Path(__file__).resolve().parents[2] / "bot"


def _raised_keys() -> dict[str, set[str]]:
    """Every literal key given to ServiceError(...) in bot/, with the parameter names passed."""
    keys: dict[str, set[str]] = {}
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ServiceError":
                assert node.args and isinstance(node.args[0], ast.Constant), \
                    f"{path.name}:{node.lineno}: a ServiceError takes a literal key"
                keys.setdefault(node.args[0].value, set()).update(k.arg for k in node.keywords)
    return keys


def test_the_source_raises_keys() -> None:
    assert {"group_not_registered", "deal_gone", "no_product"} <= set(_raised_keys())


@pytest.mark.parametrize(("key", "params"), sorted(_raised_keys().items()))
def test_every_raised_key_has_both_languages_with_its_values(key: str, params: set[str]) -> None:
    assert set(ERRORS.get(key, {})) == {"en", "zh_CN"}, f"no texts for {key!r}"
    for text in ERRORS[key].values():
        # Each placeholder is a value the raise passes (a missing one would be a KeyError).
        assert {name for _, name, _, _ in string.Formatter().parse(text) if name} <= params


def test_str_is_the_english_reason_and_text_translates() -> None:
    exc = ServiceError("no_product", sku=repr("A<1>"))
    assert str(exc) == "no product with sku 'A<1>'"
    assert exc.text("zh_CN") == "没有 sku 为 'A<1>' 的商品"
    assert exc.text("fr") == str(exc)


def test_one_key_replaces_the_repeated_sentence() -> None:
    assert str(ServiceError("group_not_registered")) == "this group is not registered; add the bot again"
    assert refusal("group_not_registered", {}, "zh_CN") == "本群尚未登记，请重新添加机器人"
