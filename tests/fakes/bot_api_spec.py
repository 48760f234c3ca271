"""Strict validation of Bot API calls against the machine-readable Bot API specification.

The spec (``bot-api.json``) lists every method and type with the types and requiredness of
their fields.  :class:`BotApiSpec` checks a decoded request against it and raises
:class:`SpecError` with a Telegram-like description on anything real Telegram would refuse
(or that a strict test double should refuse: unknown parameters and fields).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SPEC_ENV = "BOT_API_SPEC"
ARRAY_PREFIX = "Array of "
PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String"})
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_DISCRIMINATOR_RE = re.compile(r'(?:must be|always) "?([a-z_]+)"?')
_EXACTLY_ONE_RE = re.compile(r"(Exactly|At most) one of the fields other than (.+?) must be used")
_STRING_ALTERNATIVE = "String can be used instead of this object"
CALLBACK_DATA_MAX_BYTES = 64


class SpecError(Exception):
    """A request refused by validation; ``description`` is the Telegram-style error text."""

    def __init__(self, description: str, error_code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart/form-data request."""

    field: str
    filename: str | None
    content_type: str | None
    content: bytes

    @property
    def size(self) -> int:
        """Size of the content in bytes."""
        return len(self.content)


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class ObjectSpec:
    """A method or a type: its fields, and for abstract types the subtypes."""

    name: str
    fields: dict[str, FieldSpec]
    description: str
    subtypes: tuple[str, ...] = ()


def default_spec_path() -> Path:
    """Locate ``bot-api.json``: ``$BOT_API_SPEC``, else the copy vendored beside this file.

    The copy (``spec/``, MIT, from PaulSonOfLars/telegram-bot-api-spec) keeps the suite
    runnable on any fresh clone; update it from shared/telegram/ when the Bot API moves on.
    """
    env = os.environ.get(SPEC_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "spec" / "bot-api.json"


def _object_spec(raw: Mapping[str, Any]) -> ObjectSpec:
    fields = {
        f["name"]: FieldSpec(
            name=f["name"],
            types=tuple(f["types"]),
            required=bool(f["required"]),
            description=str(f.get("description", "")),
        )
        for f in raw.get("fields", [])
    }
    return ObjectSpec(
        name=raw["name"],
        fields=fields,
        description=" ".join(raw.get("description", [])),
        subtypes=tuple(raw.get("subtypes", [])),
    )


def _join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _depth(path: str) -> int:
    return path.count(".") + path.count("[")


class _FieldError(Exception):
    """Nested validation failure; converted into a :class:`SpecError` at the top level."""

    def __init__(self, path: str, problem: str, description: str | None = None) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
        self.description = description  # overrides the generated text (e.g. BUTTON_DATA_INVALID)


class BotApiSpec:
    """The Bot API specification with strict request validation."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", "unknown"))
        self.methods: dict[str, ObjectSpec] = {
            name: _object_spec(m) for name, m in data["methods"].items()
        }
        self.types: dict[str, ObjectSpec] = {
            name: _object_spec(t) for name, t in data["types"].items()
        }
        self._lower_methods = {name.lower(): name for name in self.methods}
        self._discriminators = {
            name: self._discriminator(t) for name, t in self.types.items() if t.subtypes
        }
        # Concrete subtypes must carry their own discriminator value ("type": "document").
        self._fixed: dict[str, tuple[str, str]] = {}
        for disc in self._discriminators.values():
            if disc is not None:
                field_name, mapping = disc
                for value, sub in mapping.items():
                    self._fixed[sub] = (field_name, value)

    @classmethod
    def load(cls, path: Path | None = None) -> BotApiSpec:
        """Load (and cache) the spec from ``path`` or the default location."""
        return _load_cached(str(path or default_spec_path()))

    # ------------------------------------------------------------------ lookup helpers

    def canonical_method(self, name: str) -> str | None:
        """Method names are case-insensitive in the Bot API; return the spec spelling."""
        return self._lower_methods.get(name.lower())

    def _discriminator(self, parent: ObjectSpec) -> tuple[str, dict[str, str]] | None:
        """For an abstract type find the field (type/status/source) telling subtypes apart."""
        field_name: str | None = None
        mapping: dict[str, str] = {}
        for sub in parent.subtypes:
            spec = self.types.get(sub)
            if spec is None or not spec.fields:
                continue
            first = next(iter(spec.fields.values()))
            match = _DISCRIMINATOR_RE.search(first.description)
            if first.types != ("String",) or match is None:
                return None
            if field_name not in (None, first.name):
                return None
            field_name = first.name
            mapping[match.group(1)] = sub
        return (field_name, mapping) if field_name else None

    def _exactly_one_fields(self, spec: ObjectSpec) -> tuple[bool, set[str]] | None:
        """Action fields of a button: (exactly one required?, the fields), from the prose."""
        match = _EXACTLY_ONE_RE.search(spec.description)
        if match is None:
            return None
        excluded = {part.strip() for part in re.split(r",|\band\b", match.group(2))}
        optional = {name for name, f in spec.fields.items() if not f.required}
        return match.group(1) == "Exactly", optional - excluded

    # ------------------------------------------------------------------ top level

    def validate_call(
        self,
        method: str,
        raw: Mapping[str, object],
        files: Mapping[str, UploadedFile],
    ) -> dict[str, Any]:
        """Validate and decode the parameters of one call.

        ``raw`` holds form values (strings, JSON-encoded for non-strings) or values of a JSON
        body; ``files`` the uploaded multipart file parts by part name.  Returns the decoded
        parameters (ints, bools, dicts, :class:`UploadedFile` for uploads).
        """
        spec = self.methods[method]
        used_files: set[str] = set()
        decoded: dict[str, Any] = {}
        for name, value in raw.items():
            field = spec.fields.get(name)
            if field is None:
                raise SpecError(f'Bad Request: unknown parameter "{name}" for method {method}')
            decoded[name] = self._decode_top(field, value, files, used_files)
        for name, upload in files.items():
            if name in decoded or name in used_files:
                continue
            field = spec.fields.get(name)
            if field is not None and "InputFile" in field.types:
                decoded[name] = upload
                used_files.add(name)
        for name, field in spec.fields.items():
            if field.required and name not in decoded:
                raise SpecError(f'Bad Request: parameter "{name}" is required')
        unused = sorted(set(files) - used_files)
        if unused:
            raise SpecError(
                f'Bad Request: unknown parameter "{unused[0]}" for method {method} '
                "(uploaded file part is not referenced by any parameter)"
            )
        return decoded

    def _decode_top(
        self,
        field: FieldSpec,
        value: object,
        files: Mapping[str, UploadedFile],
        used_files: set[str],
    ) -> Any:
        if isinstance(value, UploadedFile):
            if "InputFile" in field.types:
                used_files.add(field.name)
                return value
            raise SpecError(f'Bad Request: parameter "{field.name}" can\'t be a file upload')
        best: _FieldError | None = None
        for type_expr in _top_candidates(field.types):
            try:
                return self._decode_top_one(field.name, type_expr, value, files, used_files)
            except _FieldError as err:
                if best is None or _depth(err.path) > _depth(best.path):
                    best = err
        assert best is not None
        if best.description:
            raise SpecError(best.description)
        if best.path == field.name:
            expected = " or ".join(field.types)
            raise SpecError(
                f'Bad Request: invalid parameter "{field.name}": {best.problem} '
                f"(expected {expected}, got {_show(value)})"
            )
        raise SpecError(
            f'Bad Request: can\'t parse {field.name}: field "{best.path}" {best.problem}'
        )

    def _decode_top_one(
        self,
        name: str,
        type_expr: str,
        value: object,
        files: Mapping[str, UploadedFile],
        used_files: set[str],
    ) -> Any:
        if type_expr == "InputFile":
            return self._input_file(name, value, files, used_files)
        if type_expr in PRIMITIVES:
            if isinstance(value, str):
                return _parse_primitive(name, type_expr, value)
            return self._check(name, type_expr, value, files, used_files)
        # Objects and arrays arrive JSON-serialized in form data (and may in JSON bodies).
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise _FieldError(
                    name, "is not valid JSON", f"Bad Request: can't parse {name} JSON object"
                ) from None
        return self._check(name, type_expr, value, files, used_files)

    def _input_file(
        self, path: str, value: object, files: Mapping[str, UploadedFile], used_files: set[str]
    ) -> UploadedFile:
        if isinstance(value, str) and value.startswith("attach://"):
            attach = value.removeprefix("attach://")
            upload = files.get(attach)
            if upload is None:
                raise _FieldError(
                    path,
                    f'refers to missing file part "{attach}"',
                    f"Bad Request: can't parse {_top_name(path)}: "
                    f'file part "{attach}" for "{path}" not found',
                )
            used_files.add(attach)
            return upload
        raise _FieldError(path, "must be an uploaded file (InputFile)")

    # ------------------------------------------------------------------ nested values

    def _check(
        self,
        path: str,
        type_expr: str,
        value: object,
        files: Mapping[str, UploadedFile],
        used_files: set[str],
    ) -> Any:
        """Check one JSON value against a type expression; return it (files resolved)."""
        if type_expr.startswith(ARRAY_PREFIX):
            if not isinstance(value, list):
                raise _FieldError(path, f"must be an array ({type_expr})")
            inner = type_expr.removeprefix(ARRAY_PREFIX)
            return [
                self._check(f"{path}[{i}]", inner, item, files, used_files)
                for i, item in enumerate(value)
            ]
        if " | " in type_expr:  # element-wise union, see _top_candidates
            return self._check_union(path, type_expr.split(" | "), value, files, used_files)
        if type_expr == "Integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise _FieldError(path, "must be of type Integer")
            return value
        if type_expr == "Float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _FieldError(path, "must be of type Float")
            return value
        if type_expr == "Boolean":
            if not isinstance(value, bool):
                raise _FieldError(path, "must be of type Boolean")
            return value
        if type_expr == "String":
            if not isinstance(value, str):
                raise _FieldError(path, "must be of type String")
            if value.startswith("attach://"):
                # An attach:// reference must name an uploaded part; resolve it to the part.
                return self._input_file(path, value, files, used_files)
            return value
        if type_expr == "InputFile":
            return self._input_file(path, value, files, used_files)
        spec = self.types.get(type_expr)
        if spec is None:
            raise _FieldError(path, f"has unknown type {type_expr}")
        if spec.subtypes:
            return self._check_abstract(path, spec, value, files, used_files)
        if isinstance(value, str) and _STRING_ALTERNATIVE in spec.description:
            return value
        return self._check_object(path, spec, value, files, used_files)

    def _check_union(
        self,
        path: str,
        type_exprs: list[str],
        value: object,
        files: Mapping[str, UploadedFile],
        used_files: set[str],
    ) -> Any:
        best: _FieldError | None = None
        for type_expr in type_exprs:
            try:
                return self._check(path, type_expr, value, files, used_files)
            except _FieldError as err:
                if best is None or _depth(err.path) > _depth(best.path):
                    best = err
        assert best is not None
        raise best

    def _check_abstract(
        self,
        path: str,
        spec: ObjectSpec,
        value: object,
        files: Mapping[str, UploadedFile],
        used_files: set[str],
    ) -> Any:
        disc = self._discriminators.get(spec.name)
        if disc is not None and isinstance(value, dict):
            field_name, mapping = disc
            kind = value.get(field_name)
            if kind is None:
                raise _FieldError(_join_path(path, field_name), "is required")
            if kind not in mapping:
                raise _FieldError(
                    _join_path(path, field_name),
                    f"has unsupported value {_show(kind)} for {spec.name}",
                )
            return self._check(path, mapping[kind], value, files, used_files)
        best: _FieldError | None = None
        for sub in spec.subtypes:
            try:
                return self._check(path, sub, value, files, used_files)
            except _FieldError as err:
                if best is None or _depth(err.path) > _depth(best.path):
                    best = err
        raise best or _FieldError(path, f"must be {spec.name}")

    def _check_object(
        self,
        path: str,
        spec: ObjectSpec,
        value: object,
        files: Mapping[str, UploadedFile],
        used_files: set[str],
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _FieldError(path, f"must be a JSON object ({spec.name})")
        out: dict[str, Any] = {}
        for key, item in value.items():
            field = spec.fields.get(key)
            if field is None:
                raise _FieldError(_join_path(path, key), f"is unknown in {spec.name}")
            best: _FieldError | None = None
            for type_expr in field.types:
                try:
                    out[key] = self._check(
                        _join_path(path, key), type_expr, item, files, used_files
                    )
                    best = None
                    break
                except _FieldError as err:
                    if best is None or _depth(err.path) > _depth(best.path):
                        best = err
            if best is not None:
                raise best
        for name, field in spec.fields.items():
            if field.required and name not in value:
                raise _FieldError(_join_path(path, name), f"is required in {spec.name}")
        fixed = self._fixed.get(spec.name)
        if fixed is not None and value.get(fixed[0]) != fixed[1]:
            raise _FieldError(_join_path(path, fixed[0]), f'must be "{fixed[1]}" in {spec.name}')
        self._semantic_checks(path, spec, out)
        return out

    def _semantic_checks(self, path: str, spec: ObjectSpec, obj: Mapping[str, Any]) -> None:
        """Rules that the spec states in prose (exactly-one fields, byte limits, URLs)."""
        rule = self._exactly_one_fields(spec)
        if rule is not None:
            exactly, exactly_one = rule
            used = sorted(exactly_one & set(obj))
            if exactly and not used:
                raise _FieldError(
                    path,
                    "has no action field",
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                    if spec.name == "InlineKeyboardButton"
                    else f"Bad Request: can't parse {spec.name}: exactly one of "
                    f"{sorted(exactly_one)} must be used",
                )
            if len(used) > 1:
                raise _FieldError(
                    path,
                    "has several action fields",
                    f"Bad Request: can't parse {spec.name} at {path}: "
                    f"{'exactly' if exactly else 'at most'} one of the optional fields "
                    f"{sorted(exactly_one)} must be used, got {used}",
                )
        if spec.name == "InlineKeyboardButton":
            data = obj.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
                raise _FieldError(
                    _join_path(path, "callback_data"),
                    "must be 1-64 bytes",
                    "Bad Request: BUTTON_DATA_INVALID",
                )
            url = obj.get("url")
            if url is not None and not _valid_button_url(url):
                raise _FieldError(
                    _join_path(path, "url"), "is not a valid URL", "Bad Request: BUTTON_URL_INVALID"
                )
            if not obj.get("text"):
                raise _FieldError(
                    _join_path(path, "text"),
                    "must be non-empty",
                    "Bad Request: can't parse inline keyboard button: text must be non-empty",
                )


@cache
def _load_cached(path: str) -> BotApiSpec:
    with Path(path).open(encoding="utf-8") as fh:
        return BotApiSpec(json.load(fh))


def _top_name(path: str) -> str:
    """The parameter name a nested path starts with."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _top_candidates(types: tuple[str, ...]) -> list[str]:
    """Candidate type expressions of a parameter.

    "Array of A or Array of B" (sendMediaGroup) additionally accepts a mixed array whose items
    are each A or B; the method itself then enforces which kinds may be mixed.
    """
    candidates = list(types)
    if len(types) > 1 and all(t.startswith(ARRAY_PREFIX) for t in types):
        inner = " | ".join(t.removeprefix(ARRAY_PREFIX) for t in types)
        candidates.append(ARRAY_PREFIX + inner)
    return candidates


def _valid_button_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "tg":
        return bool(parts.netloc or parts.path)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_primitive(path: str, type_expr: str, value: str) -> Any:
    """Decode a form-encoded primitive the way the Bot API does (strictly)."""
    if type_expr == "String":
        return value
    if type_expr == "Integer":
        if _INT_RE.fullmatch(value):
            return int(value)
        raise _FieldError(path, "must be an Integer")
    if type_expr == "Float":
        if _FLOAT_RE.fullmatch(value):
            return float(value)
        raise _FieldError(path, "must be a Float")
    if type_expr == "Boolean":
        lowered = value.lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
        raise _FieldError(path, "must be a Boolean (true or false)")
    raise _FieldError(path, f"has unsupported type {type_expr}")
