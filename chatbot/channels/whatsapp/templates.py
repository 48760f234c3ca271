"""The WhatsApp templates our notices need, and the check of the approved ones against them.

Outside the 24-hour window a notice to a requester can only go as an approved template
(WHATSAPP_TEMPLATES maps its kind to a name). Every template has ONE body parameter, the
ticket number ({{1}}): the sender has nothing else to give. Its quick-reply buttons are the
rich notice's buttons, the same labels in the same order, so that a tap on the template acts
exactly as a tap on the rich message (the sender sends the rich buttons' data as the quick
replies' payloads; the messenger sends as many as the shape here declares).

`check` compares the configuration with the templates Meta lists for the WhatsApp Business
Account: `chatbot whatsapp templates` prints it, and start-up logs its problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pywa_async.client import WhatsApp

APPROVED = "APPROVED"
MAX_PAGES = 20  # 100 templates a page: far more than an account holds


@dataclass(frozen=True)
class TemplateShape:
    """What the template of a notice kind must look like: the body's parameter count (the
    ticket number) and the quick-reply labels, in order."""

    parameters: int = 1
    quick_replies: tuple[str, ...] = ()


# The notice kinds sent to requesters (`outbox.kind`). A test renders each notice and checks
# its buttons against these labels, so the two cannot drift apart.
SHAPES: dict[str, TemplateShape] = {
    "incomplete": TemplateShape(quick_replies=("Lengkapi",)),
    "supplement_reminder": TemplateShape(quick_replies=("Lengkapi",)),
    "rejected": TemplateShape(),
    "expired": TemplateShape(),
    "link_expired": TemplateShape(),
    "link_lost": TemplateShape(),
    "link_revoked": TemplateShape(),
    "received": TemplateShape(quick_replies=("Sudah login", "Bukan saya")),
    "confirm_reminder": TemplateShape(quick_replies=("Sudah login", "Bukan saya")),
    "closed_unconfirmed": TemplateShape(),
    # "Hasil siap dikirim": the admin is ready to hand the result over while the requester's
    # window is closed; the tap opens the hand-over.
    "result_ready": TemplateShape(quick_replies=("Siap menerima",)),
}


def quick_reply_count(kind: str) -> int:
    """How many quick replies the template of `kind` has (0 for a kind without a shape)."""
    shape = SHAPES.get(kind)
    return len(shape.quick_replies) if shape else 0


def label_key(label: str) -> str:
    """A button label as compared: without a leading emoji or symbol, case-insensitive (the
    rich button "✅ Sudah login" is the template's "Sudah login")."""
    return re.sub(r"^[^\w]+", "", label.strip()).casefold()


# ---- Meta's listing ----------------------------------------------------------------------------

_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class ApprovedTemplate:
    """One template as `GET /{waba_id}/message_templates` lists it (any status)."""

    name: str
    language: str
    status: str
    category: str = ""
    body_parameters: int = 0
    header_parameters: int = 0
    quick_replies: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ApprovedTemplate:
        body = header = 0
        replies: list[str] = []
        for component in item.get("components") or []:
            kind = str(component.get("type", "")).upper()
            text = str(component.get("text") or "")
            if kind == "BODY":
                body = len(set(_VARIABLE.findall(text)))
            elif kind == "HEADER":
                header = len(set(_VARIABLE.findall(text)))
            elif kind == "BUTTONS":
                replies += [
                    str(button.get("text", ""))
                    for button in component.get("buttons") or []
                    if str(button.get("type", "")).upper() == "QUICK_REPLY"
                ]
        return cls(
            name=str(item.get("name", "")),
            language=str(item.get("language", "")),
            status=str(item.get("status", "")).upper(),
            category=str(item.get("category", "")).upper(),
            body_parameters=body,
            header_parameters=header,
            quick_replies=tuple(replies),
        )


async def list_templates(client: WhatsApp, waba_id: str) -> list[ApprovedTemplate]:
    """Every template of the account, page by page. Raises pywa's WhatsAppError (Meta said
    no) or httpx's errors (Meta unreachable)."""
    found: list[ApprovedTemplate] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        pagination = {"limit": "100", **({"after": after} if after else {})}
        answer: dict[str, Any] = await client.api.get_templates(
            waba_id=waba_id, pagination=pagination
        )
        found += [ApprovedTemplate.from_json(item) for item in answer.get("data") or []]
        paging = answer.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after") or None
        if not paging.get("next") or not after:
            break
    return found


# ---- the check ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A configured kind and its template: fine (`problem` None) or what is wrong."""

    kind: str
    name: str
    problem: str | None = None


@dataclass
class TemplateCheck:
    """The configuration against the account: per configured kind, and the kinds that have
    no template (their notices are held while the window is closed)."""

    findings: list[Finding] = field(default_factory=list)
    unconfigured: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problem is not None]

    @property
    def ok(self) -> bool:
        return not self.problems


def _labels(labels: Iterable[str]) -> str:
    return ", ".join(f'"{label}"' for label in labels) or "none"


def _problem(
    shape: TemplateShape, name: str, language: str, found: list[ApprovedTemplate]
) -> str | None:
    """What is wrong with the template `name` for a kind of this shape, or None."""
    same_name = [t for t in found if t.name == name]
    if not same_name:
        return f"no template named {name} in the WhatsApp Business Account"
    template = next((t for t in same_name if t.language == language), None)
    if template is None:
        others = ", ".join(sorted({t.language for t in same_name}))
        return f"exists in {others} but not in {language} (WHATSAPP_TEMPLATE_LANGUAGE)"
    if template.status != APPROVED:
        return f"status {template.status or 'unknown'}, not APPROVED: Meta will not send it"
    return _shape_problem(shape, template)


def _shape_problem(shape: TemplateShape, template: ApprovedTemplate) -> str | None:
    """What differs between an approved template and the shape of its kind, or None."""
    if template.body_parameters != shape.parameters:
        return (
            f"its body has {template.body_parameters} parameter(s), expected "
            f"{shape.parameters}: {{{{1}}}} = the ticket number"
        )
    if template.header_parameters:
        return f"its header has {template.header_parameters} parameter(s); we send none"
    expected, actual = shape.quick_replies, template.quick_replies
    if [label_key(x) for x in actual] != [label_key(x) for x in expected]:
        return (
            f"quick-reply buttons {_labels(actual)}, expected {_labels(expected)} "
            "(the same buttons, in the same order, as the chat message)"
        )
    return None


def check(
    configured: Mapping[str, str], language: str, found: list[ApprovedTemplate]
) -> TemplateCheck:
    """Each configured kind's template against what Meta lists; the kinds left without."""
    result = TemplateCheck()
    for kind, name in configured.items():
        shape = SHAPES.get(kind)
        if shape is None:
            problem: str | None = "not a notice sent to requesters: no template is ever used"
        else:
            problem = _problem(shape, name, language, found)
        result.findings.append(Finding(kind, name, problem))
    result.unconfigured = [kind for kind in SHAPES if kind not in configured]
    return result


def warnings(result: TemplateCheck) -> list[str]:
    """The start-up's lines: one per problem, one for the kinds without a template."""
    lines = [
        f"WhatsApp template {f.name} for {f.kind}: {f.problem} (check with `chatbot whatsapp "
        "templates`)"
        for f in result.problems
    ]
    if result.unconfigured:
        lines.append(
            "WhatsApp: no template for "
            + ", ".join(result.unconfigured)
            + ": these notices wait until the requester writes again when the 24-hour "
            "window is closed (WHATSAPP_TEMPLATES)"
        )
    return lines
