"""The patient education files: sentences about the patient's own pregnancy, breastfeeding or birth
control have their own field (printed only for a patient who could become pregnant), with the
entry's sources, and are refused in the fields every patient gets."""

import shutil

import pytest
import yaml

from interactions.engine import KnowledgeBaseError
from interactions.engine.knowledge import KNOWLEDGE_DIR, _load
from tests.interactions.conftest import FIXTURE_KB


def load_with_education(tmp_path, entry: dict):
    target = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, target)
    (target / "education").mkdir(exist_ok=True)
    (target / "education" / "test.yaml").write_text(yaml.safe_dump({"lisinopril": entry}))
    return _load(target)


LISINOPRIL = {"purpose": "Lowers blood pressure.", "how_to_take": "Once a day.", "side_effects": "A dry cough.",
              "get_help": "Get help for swelling of the face.", "sources": ["label"]}  # fmt: skip


def test_pregnancy_text_has_its_own_field_and_is_refused_in_the_others(tmp_path):
    loaded = load_with_education(
        tmp_path, {**LISINOPRIL, "pregnancy": "Stop and call your doctor if you become pregnant."}
    )
    assert loaded.education["lisinopril"].pregnancy == "Stop and call your doctor if you become pregnant."
    assert loaded.education["lisinopril"].sources == ("label",)
    with pytest.raises(KnowledgeBaseError) as refused:
        load_with_education(
            tmp_path / "2", {**LISINOPRIL, "get_help": "Call your doctor if you become pregnant."}
        )
    assert refused.value.problems == [
        "education/test.yaml lisinopril: get_help speaks of pregnancy or birth control: move it to pregnancy"
    ]
    with pytest.raises(KnowledgeBaseError) as refused:
        load_with_education(tmp_path / "3", {**LISINOPRIL, "pregnancy": "x" * 261})
    assert (
        "education/test.yaml lisinopril: pregnancy is 261 characters (at most 260)" in refused.value.problems
    )


def test_the_shipped_pregnancy_texts_keep_their_sources():
    kb = _load(KNOWLEDGE_DIR)
    with_pregnancy = {name: entry for name, entry in kb.education.items() if entry.pregnancy}
    assert {"lisinopril", "losartan", "valproic acid", "folic acid", "melatonin", "methotrexate"} <= set(
        with_pregnancy
    )
    assert all(entry.sources for entry in with_pregnancy.values())
    assert "pregnan" not in kb.education["lisinopril"].get_help
    assert "pregnan" not in kb.education["folic acid"].purpose + kb.education["folic acid"].how_to_take
