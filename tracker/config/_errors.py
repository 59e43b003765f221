"""Typed configuration errors and their exact string forms (the Go tracker's wording)."""

from __future__ import annotations

from dataclasses import dataclass


class ConfigError(Exception):
    """Base class of every configuration problem found in the file's contents."""


class ParseError(ConfigError):
    """The file is not one YAML document matching the schema (syntax, unknown or duplicate key, wrong type,
    empty file). `detail` is the underlying YAML text; `problems` lists the individual problems."""

    def __init__(self, detail: str, path: str | None = None, problems: list[str] | None = None) -> None:
        self.detail = detail
        self.path = path
        self.problems = list(problems) if problems else [detail]
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is not None:
            return f"config: parse error in {self.path}: {self.detail}"
        return f"config: parse error: {self.detail}"


@dataclass(frozen=True)
class FieldError:
    """One broken validation rule: the dotted field name and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(ConfigError):
    """The config parsed but breaks one or more rules; `errors` are in rule order."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.errors:
            return "config: validation failed (no specific errors recorded)"
        return "\n".join(f"  - {error}" for error in self.errors)
