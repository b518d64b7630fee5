"""What the emulator knows of the Bot API: the methods and types, their fields, and each
field's types and required flag.

These facts ship inside the package (``bot_api.json`` beside this module), so the emulator
checks calls the same way in a checkout, an installed wheel and ``kocbot demo``. The file is
made from Telegram's published spec by ``scripts/emulator_spec.py``, with ``facts_from_spec``
below; it leaves out every description text.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .models import UploadedFile

DATA_FILE = "bot_api.json"


@dataclass(frozen=True)
class Field:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class TypeFacts:
    """One Bot API object type: its fields, its subtypes (a union), or the fixed ``type`` value."""

    fields: dict[str, Field]
    subtypes: tuple[str, ...] = ()
    discriminator: str | None = None


# --- from the published spec to the shipped facts --------------------------------------------

# A subtype names its fixed ``type`` value in a description ("Type of the result, must be
# photo"); the facts keep the value, not the sentence.
_MUST_BE = re.compile(r"must be \*?([a-z_]+)\*?", re.IGNORECASE)


def facts_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Reduce a full bot-api-spec.json to the facts the emulator checks, without any prose."""

    def fields(obj: dict[str, Any]) -> list[list[Any]]:
        return [[f["name"], list(f["types"]), bool(f["required"])] for f in obj.get("fields", [])]

    types: dict[str, dict[str, Any]] = {}
    for name, obj in spec.get("types", {}).items():
        facts: dict[str, Any] = {}
        if obj.get("fields"):
            facts["fields"] = fields(obj)
        if obj.get("subtypes"):
            facts["subtypes"] = list(obj["subtypes"])
        type_field = next((f for f in obj.get("fields", []) if f["name"] == "type"), None)
        match = _MUST_BE.search(type_field.get("description", "")) if type_field else None
        if match:
            facts["type"] = match.group(1)
        types[name] = facts
    return {
        "version": spec.get("version", ""),
        "methods": {name: fields(obj) for name, obj in spec.get("methods", {}).items()},
        "types": types,
    }


def dump_facts(facts: dict[str, Any]) -> str:
    """The facts as JSON with one method or type per line, so a new Bot API version diffs well."""
    def block(items: dict[str, Any]) -> str:
        return ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in items.items())

    return (f'{{\n  "version": {json.dumps(facts["version"])},\n'
            f'  "methods": {{\n{block(facts["methods"])}\n  }},\n'
            f'  "types": {{\n{block(facts["types"])}\n  }}\n}}\n')


def _field_map(rows: list[list[Any]]) -> dict[str, Field]:
    return {name: Field(name, tuple(types), bool(required)) for name, types, required in rows}


# --- the emulator's view ----------------------------------------------------------------------

# Parameters the spec does not describe (a method it lacks) are decoded as JSON when their
# name says so, else left as strings.
_JSON_PARAMS = {
    "reply_markup", "entities", "caption_entities", "link_preview_options", "reply_parameters",
    "allowed_updates", "commands", "scope", "results", "button", "menu_button",
}


class Spec:
    """Field lists and type checking driven by the Bot API facts."""

    def __init__(self, facts: dict[str, Any], source: str = DATA_FILE) -> None:
        self.source = source
        self.version: str = facts.get("version", "")
        self._methods = {name: _field_map(rows) for name, rows in facts.get("methods", {}).items()}
        self._types = {
            name: TypeFacts(_field_map(obj.get("fields", [])), tuple(obj.get("subtypes", ())),
                            obj.get("type"))
            for name, obj in facts.get("types", {}).items()
        }
        self._lower = {name.lower(): name for name in self._methods}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Spec:
        """The facts shipped with the package, or those in ``path``: a full bot-api-spec.json
        (reduced on the fly) or a facts file like the shipped one."""
        if path is None:
            return _packaged()
        found = Path(path)
        with found.open(encoding="utf-8") as fh:
            data = json.load(fh)
        if _is_full_spec(data):
            data = facts_from_spec(data)
        return cls(data, str(found))

    def canonical(self, method: str) -> str | None:
        """The spec's spelling of a method name (Telegram matches names case-insensitively)."""
        return self._lower.get(method.lower())

    def method_fields(self, method: str) -> dict[str, Field] | None:
        """Parameters of a method, or None if unknown."""
        return self._methods.get(method)

    def param_types(self, method: str, name: str) -> tuple[str, ...] | None:
        """Declared types of one parameter; None when the spec knows the method but not the name."""
        fields = self._methods.get(method)
        if fields is not None:
            field = fields.get(name)
            return field.types if field is not None else None
        return ("JSON",) if name in _JSON_PARAMS else ("String",)

    # --- type checking of decoded values -------------------------------------------------

    def check(self, value: Any, types: tuple[str, ...] | list[str], path: str) -> list[str]:
        """Errors for `value` against a union of spec types; empty when it matches one."""
        best: list[str] | None = None
        for type_name in types:
            errors = self._check_one(value, type_name, path)
            if not errors:
                return []
            if best is None or len(errors) < len(best):
                best = errors
        return best or [f"{path}: no type given"]

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}"]
            inner = type_name[len("Array of "):]
            errors: list[str] = []
            for i, item in enumerate(value):
                errors += self._check_one(item, inner, f"{path}[{i}]")
            return errors
        simple = _SIMPLE_CHECKS.get(type_name)
        if simple is not None:
            return [] if simple(value) else [f"{path}: expected {type_name}"]
        if type_name == "JSON":
            return []
        spec_type = self._types.get(type_name)
        if spec_type is None:
            return []  # a type the spec does not describe: nothing to check against
        if not isinstance(value, dict):
            return [f"{path}: expected a JSON object ({type_name})"]
        if spec_type.subtypes:
            return self.check(value, spec_type.subtypes, path)
        return self._check_object(value, type_name, spec_type, path)

    def _check_object(
        self, value: dict[str, Any], type_name: str, spec_type: TypeFacts, path: str
    ) -> list[str]:
        fields = spec_type.fields
        errors: list[str] = []
        discriminator = spec_type.discriminator
        if discriminator is not None and value.get("type") != discriminator:
            return [f"{path}: type must be {discriminator!r} for {type_name}"]
        for key in value:
            if key not in fields:
                errors.append(f"{path}: unknown field {key!r} in {type_name}")
        for fname, fdef in fields.items():
            if fname not in value:
                if fdef.required:
                    errors.append(f"{path}: {type_name} needs field {fname!r}")
                continue
            errors += self.check(value[fname], fdef.types, f"{path}.{fname}")
        return errors


@functools.lru_cache(maxsize=1)
def _packaged() -> Spec:
    # A Spec is read-only after construction, so every emulator (one per test) shares it.
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return Spec(json.loads(text))


def _is_full_spec(data: dict[str, Any]) -> bool:
    """A published spec lists methods as objects; the facts file lists them as rows."""
    return any(isinstance(method, dict) for method in data.get("methods", {}).values())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_SIMPLE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "Integer": _is_int,
    "Float": lambda v: _is_int(v) or isinstance(v, float),
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
    "InputFile": lambda v: isinstance(v, UploadedFile),
}
