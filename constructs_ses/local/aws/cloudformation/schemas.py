"""The CloudFormation registry's resource schemas, as cfn-lint ships them for each region.

A resource type's schema ("Resource type schema", CloudFormation CLI User Guide) says what the
local AWS's CloudFormation checks and decides for every type, its own models and moto's alike:
``properties`` and ``required`` what a template may give (checked as a JSON Schema),
``createOnlyProperties`` which changes replace the resource, ``readOnlyProperties`` (with
cfn-lint's additions, which follow CloudFormation's documented return values) what
``Fn::GetAtt`` may read, ``primaryIdentifier`` what identifies the resource and
``writeOnlyProperties`` what is never read back. cfn-lint maintains the schemas per region
(``cfnlint/data/schemas/providers/<region>.json``) and patches the few that CloudFormation's
behaviour contradicts.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jsonschema
import regex
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from cfnlint.schema._exceptions import ResourceNotFoundError

__all__ = ["ResourceSchema", "schema_of"]

_SCHEMA_NAMES = MappingProxyType(
    {
        "string": "String",
        "integer": "Integer",
        "number": "Number",
        "boolean": "Boolean",
        "object": "JSONObject",
        "array": "JSONArray",
        "null": "Null",
    }
)


def _found(value: Any) -> str:
    """The JSON type of ``value`` as CloudFormation's validation messages name it."""
    for python_type, name in (
        (bool, "Boolean"),
        (int, "Integer"),
        (float, "Number"),
        (str, "String"),
        (dict, "JSONObject"),
        (list, "JSONArray"),
    ):
        if isinstance(value, python_type):
            return name
    return "Null"


def _number_text(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None


def _is_string(_checker: Any, value: Any) -> bool:
    """CloudFormation takes numbers and booleans where a string is wanted (as their text)."""
    return isinstance(value, (str, int, float))


def _is_integer(_checker: Any, value: Any) -> bool:
    """... and digits where an integer is wanted."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return re.fullmatch(r"-?\d+", value) is not None
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(_checker: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or _number_text(value)


def _is_boolean(_checker: Any, value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, str) and value.lower() in ("true", "false")
    )


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


def _as_number(value: Any) -> Any:
    return float(value) if _number_text(value) else value


_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_TEXT_KEYWORDS = ("pattern", "minLength", "maxLength", "enum", "const")


def _pattern(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
    """``pattern`` with the schemas' ECMA-262 syntax (``\\p{L}``...), which ``regex`` reads."""
    if not isinstance(instance, str):
        return
    try:
        matched = regex.search(pattern, instance)
    except regex.error:
        return  # a pattern no Python engine reads is not held against the template
    if matched is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _coercing(keyword: str, check: Any) -> Any:
    """A keyword's check of the value as CloudFormation converts it first (text for string
    keywords, a number for numeric ones)."""
    convert = _as_number if keyword in _NUMBER_KEYWORDS else _as_text

    def checked(validator: Any, expected: Any, instance: Any, schema: Any) -> Any:
        if keyword == "enum" and instance in expected:
            return
        yield from check(validator, expected, convert(instance), schema)

    return checked


_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
    {"string": _is_string, "integer": _is_integer, "number": _is_number, "boolean": _is_boolean}
)
_Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    validators={
        keyword: _coercing(
            keyword,
            _pattern if keyword == "pattern" else jsonschema.Draft7Validator.VALIDATORS[keyword],
        )
        for keyword in (*_NUMBER_KEYWORDS, *_TEXT_KEYWORDS)
    },
    type_checker=_TYPES,
)


_WORDING: Mapping[str, Callable[[Any, Any], str]] = MappingProxyType(
    {
        "maxLength": lambda expected, value: (
            f"expected maxLength: {expected}, actual: {len(value)}"
        ),
        "minLength": lambda expected, value: (
            f"expected minLength: {expected}, actual: {len(value)}"
        ),
        "minimum": lambda expected, value: f"{value} is not greater or equal to {expected}",
        "maximum": lambda expected, value: f"{value} is not less or equal to {expected}",
        "minItems": lambda expected, value: (
            f"expected minimum item count: {expected}, found: {len(value)}"
        ),
        "maxItems": lambda expected, value: (
            f"expected maximum item count: {expected}, found: {len(value)}"
        ),
        "type": lambda expected, value: (
            f"expected type: {_type_name(expected)}, found: {_found(value)}"
        ),
    }
)
"""CloudFormation's words for a violated keyword (its validator's); any other keyword is
"failed validation constraint for keyword [<keyword>]"."""


def _type_name(expected: Any) -> str:
    wanted = expected if isinstance(expected, str) else expected[0]
    return _SCHEMA_NAMES.get(wanted, wanted)


def _message(error: jsonschema.ValidationError) -> str:
    """One violation as CloudFormation words it: ``#/Rule/TlsPolicy: ...``."""
    path = "#" + "".join(f"/{part}" for part in error.absolute_path)
    keyword, expected, value = str(error.validator), error.validator_value, error.instance
    if keyword == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"{path}: required key [{missing[0] if missing else expected}] not found"
    if keyword == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"{path}: extraneous key [{extra[0] if extra else '?'}] is not permitted"
    if keyword in _WORDING:
        return f"{path}: {_WORDING[keyword](expected, value)}"
    return f"{path}: failed validation constraint for keyword [{keyword}]"


def _paths(pointers: Any) -> tuple[tuple[str, ...], ...]:
    """JSON pointers of the schema's property lists (``/properties/Rule/Name``) as paths."""
    return tuple(tuple(pointer.split("/")[2:]) for pointer in pointers or ())


def _at(properties: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """The values at ``path`` (``*`` for every item of a list) in ``properties``."""
    if not path:
        yield properties
        return
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(properties, list):
        for item in properties:
            yield from _at(item, rest)
    elif isinstance(properties, Mapping) and head in properties:
        yield from _at(properties[head], rest)


def _drop(properties: Any, path: tuple[str, ...]) -> None:
    """Remove the values at ``path`` (``*`` for every item of a list) from ``properties``."""
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(properties, list) and rest:
        for item in properties:
            _drop(item, rest)
    elif isinstance(properties, dict) and head in properties:
        if rest:
            _drop(properties[head], rest)
        else:
            del properties[head]


@dataclass(frozen=True)
class ResourceSchema:
    """A resource type's registry schema, read for what CloudFormation decides with it."""

    type_name: str
    schema: Mapping[str, Any]
    attributes: frozenset[str]
    """What ``Fn::GetAtt`` may read (any name, for a custom resource)."""

    @property
    def create_only(self) -> tuple[tuple[str, ...], ...]:
        return _paths(self.schema.get("createOnlyProperties"))

    @property
    def read_only(self) -> tuple[tuple[str, ...], ...]:
        return _paths(self.schema.get("readOnlyProperties"))

    @property
    def write_only(self) -> tuple[tuple[str, ...], ...]:
        return _paths(self.schema.get("writeOnlyProperties"))

    @property
    def primary_identifier(self) -> tuple[str, ...]:
        """The properties that identify a resource (a composite one joins them with ``|``)."""
        return tuple(path[-1] for path in _paths(self.schema.get("primaryIdentifier")))

    @functools.cached_property
    def _validator(self) -> Any:
        return _Validator(self.schema)

    @property
    def any_attribute(self) -> bool:
        return ".*" in self.attributes

    def has_attribute(self, name: str) -> bool:
        return self.any_attribute or name in self.attributes

    def problems(self, properties: Mapping[str, Any]) -> list[str]:
        """What is wrong with ``properties`` (intrinsics resolved), in CloudFormation's words."""
        found = self._validator.iter_errors(dict(properties))
        errors = sorted(found, key=lambda error: [str(part) for part in error.absolute_path])
        return [_message(error) for error in errors]

    def validation_failure(self, logical_id: str, properties: Mapping[str, Any]) -> str | None:
        """CloudFormation's reason for failing resource ``logical_id``, or None when valid."""
        found = self.problems(properties)
        if not found:
            return None
        message = found[0] if len(found) == 1 else "[" + ", ".join(found) + "]"
        return f"Properties validation failed for resource {logical_id} with message: {message}"

    def readable(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """``properties`` without the write-only ones, which CloudFormation never returns."""
        kept = copy.deepcopy(dict(properties))
        for path in self.write_only:
            _drop(kept, path)
        return kept

    def replaced_by(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """Whether going from ``old`` to ``new`` properties replaces the resource: a change of a
        create-only property ("Update behaviors of stack resources", CloudFormation User
        Guide; "createOnlyProperties", the schema)."""
        return any(list(_at(old, path)) != list(_at(new, path)) for path in self.create_only)


@functools.cache
def schema_of(type_name: str, region: str) -> ResourceSchema | None:
    """The schema of ``type_name`` in ``region`` (a ``Custom::`` type is a custom resource's),
    or None when CloudFormation has no such type there."""
    try:
        found = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name)
    except ResourceNotFoundError:
        return None
    attributes = frozenset(PROVIDER_SCHEMA_MANAGER.get_type_getatts(type_name, region))
    return ResourceSchema(found.type_name, found.schema, attributes)
