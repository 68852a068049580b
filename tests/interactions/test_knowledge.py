"""The validator: the real knowledge base passes, and each kind of mistake is caught."""

import shutil

import pytest
import yaml

from interactions.engine import KnowledgeBaseError
from interactions.engine.knowledge import KNOWLEDGE_DIR, _load, load_knowledge_base, validate_knowledge_base
from interactions.selectors import knowledge_base
from tests.interactions.conftest import FIXTURE_KB


def test_the_shipped_knowledge_base_is_valid_and_complete():
    problems, _ = validate_knowledge_base(KNOWLEDGE_DIR)
    assert problems == []


@pytest.fixture
def broken(tmp_path):
    target = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, target)
    return target


def edit_yaml(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems_of(directory) -> str:
    with pytest.raises(KnowledgeBaseError) as error:
        _load(directory)
    return "\n".join(error.value.problems)


def test_the_fixture_is_valid(broken):
    assert _load(broken).version == "test-1"


def test_unknown_references_are_caught(broken):
    edit_yaml(
        broken / "interactions" / "pairs.yaml",
        lambda rules: rules[0]["between"].append("group:no-such-group"),
    )
    edit_yaml(broken / "elderly.yaml", lambda rules: rules[0]["drugs"].append("unobtainium"))
    text = problems_of(broken)
    assert (
        "interactions/pairs.yaml rule 1 (generic-strong-inhibitor-substrate): unknown group 'no-such-group'"
        in text
    )
    assert "elderly.yaml rule 1 (elderly-antihistamine): unknown ingredient 'unobtainium'" in text


def test_a_rule_without_a_source_is_caught(broken):
    edit_yaml(broken / "renal.yaml", lambda rules: rules[0].pop("sources"))
    assert "renal.yaml rule 1 (renal-metformin): cites no source" in problems_of(broken)


def test_an_unknown_source_is_caught(broken):
    edit_yaml(broken / "disease.yaml", lambda rules: rules[0].update(sources=["made-up"]))
    assert "unknown source 'made-up'" in problems_of(broken)


def test_conflicting_duplicate_rules_are_caught(broken):
    def duplicate(rules):
        copy = dict(rules[2], id="warfarin-bleeding-again", severity="minor")
        rules.append(copy)

    edit_yaml(broken / "interactions" / "pairs.yaml", duplicate)
    assert "same drugs as rule warfarin-bleeding (conflicting duplicate)" in problems_of(broken)


def test_a_name_meaning_two_things_is_caught(broken):
    with (broken / "names" / "a.csv").open("a") as names:
        names.write("Tylenol,ibuprofen,brand\n")
    assert "'Tylenol' already means acetaminophen" in problems_of(broken)


def test_an_ingredient_with_two_rxcuis_is_caught(broken):
    with (broken / "ingredients" / "b.csv").open("a") as rows:
        rows.write("warfarin,99999,rx,anticoagulant\n")
    assert "warfarin has RxCUI 99999 here and 11289 elsewhere" in problems_of(broken)


def test_bad_severity_and_missing_text_are_caught(broken):
    edit_yaml(
        broken / "interactions" / "pairs.yaml",
        lambda rules: rules[0].update(severity="severe", management=""),
    )
    text = problems_of(broken)
    assert "severity 'severe' is not one of" in text and "no management" in text


def test_lenient_mode_lists_ingredients_that_are_not_in_the_dictionary_yet(broken):
    edit_yaml(broken / "elderly.yaml", lambda rules: rules[0]["drugs"].append("newdrugumab"))
    problems, unknown = validate_knowledge_base(broken, lenient=True)
    assert problems == [] and unknown == {"newdrugumab"}


def test_patient_education_is_checked(broken):
    education = broken / "education"
    education.mkdir()
    (education / "test.yaml").write_text(
        yaml.safe_dump(
            {
                "warfarin": {"purpose": "Thins the blood.", "how_to_take": "x" * 300, "side_effects": "Bruising.",
                             "sources": ["made-up"]},
                "unobtainium": {"purpose": "a", "how_to_take": "b", "side_effects": "c", "get_help": "d",
                                "sources": ["made-up"]},
            }
        )
    )  # fmt: skip
    text = problems_of(broken)
    assert "education/test.yaml warfarin: how_to_take is 300 characters (at most 260)" in text
    assert "education/test.yaml warfarin: no get_help" in text
    assert "education/test.yaml warfarin: unknown source 'made-up'" in text
    assert "education/test.yaml unobtainium: unknown ingredient" in text


def test_the_shipped_education_covers_the_common_medicines():
    kb = _load(KNOWLEDGE_DIR)
    for name in [
        "warfarin",
        "metformin",
        "lisinopril",
        "atorvastatin",
        "levothyroxine",
        "sertraline",
        "acetaminophen",
    ]:
        entry = kb.education[name]
        assert entry.purpose and entry.how_to_take and entry.side_effects and entry.get_help and entry.sources


def test_the_knowledge_base_is_read_once_per_process(settings):
    # The system check loads it without arguments, the selectors with the folder and extra names.
    settings.KNOWLEDGE_EXTRA_DIRS = []
    assert load_knowledge_base() is load_knowledge_base(KNOWLEDGE_DIR, ()) is knowledge_base()
