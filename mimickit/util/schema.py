"""Typed, ranged config keys: one :class:`Field` per key states its type, default, unit, allowed range and
meaning. :func:`validate` checks a yaml mapping against a schema (a ``dict`` of fields) and returns it with
every default filled in, so code reads ``config[key]`` and each default exists only in its schema;
:func:`describe` lists a schema for people (``mimickit keys``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from mimickit.util.config import ConfigError


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()
KINDS = (bool, int, float, str, list, dict, object)


@dataclass(frozen=True)
class Field:
    """One config key.

    ``kind``: bool, int, float, str, list (elements of ``item`` kind, each checked against the range) or dict
    (checked against ``schema`` when given); object accepts anything. Ranges: ``ge`` (>=), ``gt`` (>), ``le``
    (<=); ``choices`` for strings; ``nullable`` accepts a yaml null; ``finite=False`` accepts inf for floats.
    """

    kind: type
    default: Any = REQUIRED
    help: str = ""
    unit: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] | None = None
    item: type | None = None
    schema: dict[str, Field] | None = None
    nullable: bool = False
    finite: bool = True
    ignored: bool = False  # accepted only because upstream's configs carry it; nothing reads it (a notice says so)

    def allowed(self) -> str:
        """What this key accepts, in words (for errors and listings)."""
        number_kind = self.item if self.kind is list else self.kind
        words = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a mapping",
                 object: "any value"}
        base = words.get(number_kind, number_kind.__name__) if number_kind else "a value"
        if self.kind is list:
            base = f"a list of {base.split(' ', 1)[-1]}s" if self.item else "a list"
        if self.choices:
            base = f"one of {list(self.choices)}"
        bounds = [f">= {self.ge:g}" if self.ge is not None else "", f"> {self.gt:g}" if self.gt is not None else "",
                  f"<= {self.le:g}" if self.le is not None else ""]
        bounds = [b for b in bounds if b]
        if bounds:
            base += (" each " if self.kind is list else " ") + " and ".join(bounds)
        if self.unit:
            base += f" [{self.unit}]"
        if self.nullable:
            base += " or null"
        return base

    def check(self, value: Any, where: str) -> Any:
        """``value`` converted to this field's kind; a :class:`ConfigError` naming ``where`` if not allowed."""
        if value is None and (self.nullable or self.default is None):
            return None
        if self.kind is dict:
            if not isinstance(value, dict):
                raise self._error(value, where)
            return validate(value, self.schema, where) if self.schema is not None else value
        if self.kind is list:
            if not isinstance(value, list):
                raise self._error(value, where)
            return [self._scalar(v, self.item, value, where) for v in value] if self.item else list(value)
        return self._scalar(value, self.kind, value, where)

    def _scalar(self, value: Any, kind: type, shown: Any, where: str) -> Any:
        if kind is object:
            return value
        if kind is bool:
            if not isinstance(value, bool):
                raise self._error(shown, where)
            return value
        if kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise self._error(shown, where)
            return value
        number = _as_number(value)
        if number is None or (kind is int and not float(number).is_integer()):
            raise self._error(shown, where)
        if math.isnan(number) or (self.finite and math.isinf(number)):
            raise self._error(shown, where)
        if ((self.ge is not None and not number >= self.ge) or (self.gt is not None and not number > self.gt)
                or (self.le is not None and not number <= self.le)):
            raise self._error(shown, where)
        return int(number) if kind is int else float(number)

    def _error(self, value: Any, where: str) -> ConfigError:
        return ConfigError(f"{where} must be {self.allowed()}, found {value!r}")


def _as_number(value: Any) -> float | None:
    """An int / float, or a string yaml left unparsed (``1e-4``, ``2e8``); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def validate(config: dict[str, Any], schema: dict[str, Field], source: str) -> dict[str, Any]:
    """``config`` checked against ``schema`` (unknown keys, missing required keys, types and ranges) with the
    defaults of absent keys filled in. Errors name ``source`` and the key."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: must be a mapping of keys to values, found {config!r}")
    unknown = sorted(set(config) - set(schema))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; valid keys are {sorted(schema)}")
    missing = [key for key, field in schema.items() if field.default is REQUIRED and key not in config]
    if missing:
        raise ConfigError(f"{source}: missing required key(s) {missing}")
    ignored = sorted(key for key in config if schema[key].ignored)
    if ignored:
        print(f"note: {source}: {', '.join(ignored)} not read by this env (upstream's configs carry them); ignored",
              flush=True)
    out: dict[str, Any] = {}
    for key, field in schema.items():
        if field.ignored:
            continue
        if key in config:
            out[key] = field.check(config[key], f"{source}: {key}")
        else:
            out[key] = copy.deepcopy(field.default)
    return out


def describe(schema: dict[str, Field], indent: str = "") -> str:
    """A listing of every key: name, what it accepts, default and meaning (nested mappings indented)."""
    lines = []
    for key, field in schema.items():
        if field.ignored:
            lines.append(f"{indent}{key}: accepted from upstream's configs and ignored (nothing here reads it)")
            continue
        default = "required" if field.default is REQUIRED else f"default {field.default!r}"
        lines.append(f"{indent}{key}: {field.allowed()}; {default}" + (f" — {field.help}" if field.help else ""))
        if field.schema is not None:
            lines.append(describe(field.schema, indent + "    "))
    return "\n".join(lines)


def bad_values(field: Field) -> list[Any]:
    """Values this field must refuse: a wrong type and, where it has a range or choices, one outside it
    (for generated bad-input tests)."""
    if field.ignored:
        return []
    wrong_type = {bool: "banana", int: "banana", float: "banana", str: 12345, list: "banana", dict: "banana"}
    values = [] if field.kind is object else [wrong_type[field.kind]]
    kind = field.item if field.kind is list else field.kind
    outside = None
    if field.ge is not None:
        outside = field.ge - 1
    elif field.gt is not None:
        outside = field.gt - 1 if kind is int else field.gt
    elif field.le is not None:
        outside = field.le + 1
    if outside is not None and kind in (int, float):
        values.append([outside] if field.kind is list else outside)
    if field.choices:
        values.append("not_a_choice")
    return values
