"""Every way an input can be wrong has a sentence, chosen in conversations/, none in services/."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.conversations import texts as t
from chatbot.services.documents import DocumentStore
from chatbot.services.identity import InputProblem, InvalidInput, clean_text

SERVICES = Path(__file__).resolve().parent.parent / "chatbot" / "services"

# Sample details: every value a sentence may name.
SAMPLE = {
    "field": "User ID",
    "length": 17,
    "max_len": 100,
    "max_mb": 20,
    "mime": "application/zip",
    "max_pages": 20,
}


def test_every_problem_has_a_sentence() -> None:
    assert sorted(set(InputProblem) - set(t.INPUT_PROBLEMS)) == []


@pytest.mark.parametrize("problem", list(InputProblem))
def test_each_sentence_is_words_never_the_code(problem: InputProblem) -> None:
    sentence = t.invalid_input(InvalidInput(problem, **SAMPLE))
    assert sentence
    assert problem.value not in sentence
    assert "None" not in sentence


def test_the_sentences_name_their_details() -> None:
    assert t.invalid_input(InvalidInput(InputProblem.NIP_LENGTH, length=17)) == (
        "NIP harus 18 angka; yang Anda kirim 17 angka."
    )
    assert t.invalid_input(InvalidInput(InputProblem.FILE_TYPE, mime=None)) == (
        "Jenis file tidak diterima. Kirim PDF, atau foto/gambar JPG/PNG."
    )
    assert t.invalid_input(InvalidInput(InputProblem.FILE_TYPE, mime="application/zip")) == (
        "Jenis file tidak diterima (isinya application/zip). Kirim PDF, atau foto/gambar JPG/PNG."
    )
    assert t.invalid_input(InvalidInput(InputProblem.TOO_MANY_PAGES, max_pages=20)) == (
        "Maksimal 20 file per dokumen. Ketuk Selesai."
    )


def test_the_error_keeps_its_code_and_details(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_text("x" * 101, field="User ID", max_len=100)
    assert refused.value.problem is InputProblem.TOO_LONG
    assert refused.value.details == {"field": "User ID", "max_len": 100}
    assert str(refused.value) == "too_long"
    assert t.invalid_input(refused.value) == "User ID terlalu panjang (maksimal 100 huruf)."
    with pytest.raises(InvalidInput) as too_big:
        DocumentStore(tmp_path, max_bytes=20 * 1024 * 1024).check_size(21 * 1024 * 1024)
    assert t.invalid_input(too_big.value) == "File terlalu besar. Batasnya 20 MB per file."


def test_no_service_holds_these_sentences() -> None:
    """The words are chosen in conversations/texts.py only: no fixed part of a sentence (the
    text between the details it names) is written in a services module that refuses input.
    (`passwords.problem` words its own refusals: it is not an InvalidInput.)"""
    parts: list[str] = []
    for problem in InputProblem:
        sentence = t.invalid_input(InvalidInput(problem, **SAMPLE))
        for value in SAMPLE.values():
            sentence = sentence.replace(str(value), "\0")
        parts += [part.strip() for part in sentence.split("\0") if len(part.strip()) > 8]
    for path in sorted(SERVICES.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if "InvalidInput" not in source:
            continue
        assert [part for part in parts if part in source] == [], path.name
