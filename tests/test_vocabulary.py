"""Each SOP thing has its Indonesian label in one place: `services/vocabulary.py`."""

from __future__ import annotations

import ast
import re
from enum import Enum
from pathlib import Path

import pytest

from chatbot.conversations import texts
from chatbot.reports import figures
from chatbot.services import vocabulary
from chatbot.services.enums import DocumentKind, MissingItem, Outcome, RequestType, Role, Step

PACKAGE = Path(__file__).resolve().parents[1] / "chatbot"
ENUMS: dict[str, type[Enum]] = {
    e.__name__: e for e in (Step, Role, RequestType, Outcome, DocumentKind, MissingItem)
}
CODE = re.compile(r"[a-z_]+")  # a machine code ("password_direset"), not a label
LABEL = re.compile(r"[\w ()/+:.,-]+")  # a name; a status line with an emoji is a sentence


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (vocabulary.STEP_ACTIVITIES, Step),
        (vocabulary.STEP_REPORT, Step),
        (vocabulary.STEP_NAMES, Step),
        (vocabulary.REQUEST_TYPES, RequestType),
        (vocabulary.ROLES, Role),
        (vocabulary.ROLE_SHORT, Role),
        (vocabulary.OUTCOMES, Outcome),
        (vocabulary.OUTCOME_SHORT, Outcome),
        (vocabulary.DOCUMENTS, DocumentKind),
        (vocabulary.DOCUMENT_SHORT, DocumentKind),
        (vocabulary.DOCUMENT_KINDS, DocumentKind),
        (vocabulary.MISSING, MissingItem),
        (vocabulary.MISSING_IN_SENTENCE, MissingItem),
    ],
)
def test_every_member_has_a_label_in_each_table(table: dict[object, str], enum: type[Enum]) -> None:
    assert set(table) == set(enum)
    assert all(label.strip() for label in table.values())


def test_the_chat_catalog_reads_the_vocabulary_objects_themselves() -> None:
    assert texts.STEP_NAMES is vocabulary.STEP_NAMES
    assert texts.ROLES is vocabulary.ROLES
    assert texts.ROLE_SHORT is vocabulary.ROLE_SHORT
    assert texts.REQUEST_TYPES is vocabulary.REQUEST_TYPES
    assert texts.DOCUMENTS is vocabulary.DOCUMENTS
    assert texts.DOCUMENT_SHORT is vocabulary.DOCUMENT_SHORT
    assert texts.MISSING is vocabulary.MISSING
    assert texts.BOT_NAME is vocabulary.BOT_NAME
    assert figures.OUTCOMES[Outcome.EXPIRED.value] == vocabulary.OUTCOME_SHORT[Outcome.EXPIRED]


def _label_tables(tree: ast.AST) -> list[tuple[int, str]]:
    """Dict literals mapping an enum's members (or all of its values) to Indonesian labels."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict) or not node.keys:
            continue
        values = [v.value for v in node.values if isinstance(v, ast.Constant)]
        if len(values) != len(node.values) or not all(
            isinstance(v, str) and LABEL.fullmatch(v) and not CODE.fullmatch(v) for v in values
        ):
            continue
        for key in node.keys:
            target = key.value if isinstance(key, ast.Attribute) else None
            if isinstance(target, ast.Attribute):  # Outcome.COMPLETED.value
                target = target.value
            if isinstance(target, ast.Name) and target.id in ENUMS:
                found.append((node.lineno, target.id))
                break
        else:
            constants = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            for name, enum in ENUMS.items():
                if {m.value for m in enum} == constants:  # every member, keyed by its value
                    found.append((node.lineno, name))
    return found


def test_no_module_but_the_vocabulary_keeps_its_own_labels_of_the_sops_things() -> None:
    copies = [
        f"{path.relative_to(PACKAGE.parent)}:{line} ({enum})"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "vocabulary.py"
        for line, enum in _label_tables(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert copies == []


def test_the_reports_do_not_import_the_chat_text_catalog() -> None:
    imported = [
        f"{path.name}: {node.module}"
        for path in sorted((PACKAGE / "reports").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith(("chatbot.conversations", "chatbot.channels"))
    ]
    assert imported == []
