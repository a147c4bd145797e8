"""The generated parts of the site: the admin API and command line references.

An mkdocs hook (``hooks:`` in mkdocs.yml). A page holding the line
``<!-- generated: admin-api -->`` or ``<!-- generated: cli -->`` gets it replaced,
while the site builds, by Markdown made from the code itself: the OpenAPI document
the broker serves at ``/openapi.json`` (:func:`broker.web.openapi.build_openapi`) and
the click commands of ``mockbroker``. Nothing is written to disk, so the references
cannot drift from what they describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import click

__all__ = ["GENERATED", "admin_api_reference", "cli_reference", "commands", "on_page_markdown"]

# What the admin API page describes: every path of these OpenAPI tags.
ADMIN_TAGS = ("Admin", "Health")
METHODS = ("get", "put", "post", "patch", "delete")
HELP_WIDTH = 100  # the width `mockbroker --help` uses (its max_content_width)


def _cell(text: object) -> str:
    """Text for one table cell: on one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _schema_name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def _type_of(schema: dict[str, Any]) -> str:
    """A schema's type as the table shows it, with links to named schemas."""
    if "$ref" in schema:
        name = _schema_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type_of(schema["allOf"][0])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type_of(schema['additionalProperties'])}"
    return f"`{kind}`" if kind else "any"


def _constraints(schema: dict[str, Any]) -> str:
    words = []
    if "enum" in schema:
        words.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    for key, label in (("minimum", "≥"), ("maximum", "≤")):
        if key in schema:
            words.append(f"{label} {schema[key]}")
    for key, label in (("minLength", "length ≥"), ("maxLength", "length ≤")):
        if key in schema:
            words.append(f"{label} {schema[key]}")
    if "default" in schema:
        words.append(f"default `{schema['default']}`")
    if schema.get("nullable"):
        words.append("may be `null`")
    return "; ".join(words)


def _references(value: Any) -> Iterator[str]:
    """The names of every schema ``value`` refers to, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield _schema_name(item)
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _schemas_used(operations: list[dict[str, Any]], named: dict[str, Any]) -> list[str]:
    """Named schemas the operations use, with the ones those use, in first-seen order."""
    seen: list[str] = []
    pending = list(_references(operations))
    while pending:
        name = pending.pop(0)
        if name in seen or name not in named:
            continue
        seen.append(name)
        pending.extend(_references(named[name]))
    return seen


def _body(content: dict[str, Any]) -> str:
    parts = []
    for media_type, entry in content.items():
        schema = entry.get("schema")
        parts.append(f"`{media_type}` {_type_of(schema)}" if schema else f"`{media_type}`")
    return ", ".join(parts)


def _operation(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if operation.get("summary"):
        lines += [operation["summary"].rstrip(".") + ".", ""]
    if operation.get("description"):
        lines += [operation["description"], ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += [
            "| parameter | in | type | required | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for parameter in parameters:
            schema = parameter.get("schema", {})
            meaning = "; ".join(
                part for part in (parameter.get("description", ""), _constraints(schema)) if part
            )
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {_type_of(schema)} "
                f"| {'yes' if parameter.get('required') else 'no'} | {_cell(meaning)} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        required = " (required)" if body.get("required") else ""
        lines += [f"Request body{required}: {_body(body.get('content', {}))}", ""]
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    for status, response in operation.get("responses", {}).items():
        lines.append(
            f"| {status} | {_cell(response.get('description', ''))} "
            f"| {_body(response.get('content', {}))} |"
        )
    return [*lines, ""]


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{#{_anchor(name)}}}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {_type_of(schema)}.", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | meaning |", "| --- | --- | --- | --- |"]
    for field, value in properties.items():
        meaning = "; ".join(
            part for part in (value.get("description", ""), _constraints(value)) if part
        )
        read_only = " (in answers only)" if value.get("readOnly") else ""
        lines.append(
            f"| `{field}` | {_type_of(value)} | {'yes' if field in required else 'no'} "
            f"| {_cell(meaning + read_only)} |"
        )
    return [*lines, ""]


def admin_api_reference(document: dict[str, Any]) -> str:
    """Markdown for every admin and health path of an OpenAPI document, then its schemas."""
    lines: list[str] = []
    operations: list[dict[str, Any]] = []
    for tag in ADMIN_TAGS:
        lines += [f"## {tag}", ""]
        for path, item in document["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None or tag not in operation.get("tags", []):
                    continue
                operations.append(operation)
                lines += _operation(path, method, operation)
    named = document.get("components", {}).get("schemas", {})
    used = _schemas_used(operations, named)
    if used:
        lines += ["## Schemas", ""]
        for name in used:
            lines += _schema(name, named[name])
    return "\n".join(lines).rstrip() + "\n"


def commands(
    command: click.Command, name: str, parent: click.Context | None = None
) -> Iterator[tuple[str, click.Context]]:
    """``(full name, context)`` of ``command`` and every visible subcommand, depth first."""
    context = click.Context(
        command,
        info_name=name,
        parent=parent,
        terminal_width=HELP_WIDTH,
        max_content_width=HELP_WIDTH,
    )
    yield context.command_path, context
    if isinstance(command, click.Group):
        for child_name in command.list_commands(context):
            child = command.get_command(context, child_name)
            if child is not None and not child.hidden:
                yield from commands(child, child_name, context)


def cli_reference(main: click.Command, name: str = "mockbroker") -> str:
    """Markdown with the ``--help`` of ``main`` and of each of its subcommands."""
    found = list(commands(main, name))
    lines = ["## Commands", ""]
    for path, context in found:
        summary = context.command.get_short_help_str(limit=HELP_WIDTH)
        slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
        lines.append(f"- [`{path}`](#{slug}): {summary}")
    lines.append("")
    for path, context in found:
        slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
        lines += [
            f"## `{path}` {{#{slug}}}",
            "",
            "```text",
            context.get_help(),
            "```",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _admin_api() -> str:
    from broker.web.openapi import build_openapi

    return admin_api_reference(build_openapi())


def _cli() -> str:
    from broker.cli import main

    return cli_reference(main)


GENERATED = {"admin-api": _admin_api, "cli": _cli}
PLACEHOLDER = re.compile(r"^<!-- generated: (?P<name>[a-z-]+) -->$", re.M)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs: each ``<!-- generated: NAME -->`` line replaced by what it names."""

    def generated(found: re.Match[str]) -> str:
        name = found.group("name")
        if name not in GENERATED:
            from mkdocs.exceptions import PluginError

            known = ", ".join(sorted(GENERATED))
            raise PluginError(f"unknown generated part {name!r} (known: {known})")
        return GENERATED[name]()

    return PLACEHOLDER.sub(generated, markdown)
