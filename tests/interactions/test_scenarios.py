"""Clinical scenarios, written from the references: each says what a pharmacist expects the screening
to find (and, as importantly, not to find) for a patient and a medication list.

Scenario files: tests/interactions/scenarios/*.yaml, a list of

    - name: clarithromycin with simvastatin
      reference: Zocor label section 4; FDA DDI table (clarithromycin is a strong CYP3A4 inhibitor)
      patient: {age: 70, sex: female, weight_kg: 60, serum_creatinine_mg_dl: 1.0, allergies: [], conditions: []}
      medications: [Zocor 40 mg, Biaxin 500 mg]
      doses: ["1 tablet at bedtime", ""]   # optional, parallel to medications: each one's dose text
      expect:                       # each must be among the findings
        - {kind: interaction, drugs: [clarithromycin, simvastatin], severity: contraindicated}
      absent:                       # none of these may be (any severity)
        - {kind: interaction, drugs: [clarithromycin, pravastatin]}
      unresolved: []                # optional: exactly these inputs stay unresolved
"""

from pathlib import Path

import pytest
import yaml

from interactions.engine import screen

SCENARIO_DIR = Path(__file__).parent / "scenarios"


def _scenarios():
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        for scenario in yaml.safe_load(path.read_text()) or []:
            yield pytest.param(scenario, id=f"{path.stem}: {scenario['name']}")


def _matches(finding: dict, wanted: dict) -> bool:
    return (
        finding["kind"] == wanted["kind"]
        and set(finding["drugs"]) == set(wanted["drugs"])
        and wanted.get("severity", finding["severity"]) == finding["severity"]
    )


@pytest.mark.parametrize("scenario", list(_scenarios()))
def test_scenario(scenario):
    assert scenario.get("reference"), "every scenario cites why it expects what it expects"
    medications = [{"name": m} for m in scenario["medications"]]
    for medication, dose in zip(medications, scenario.get("doses") or [], strict=False):
        if dose:
            medication["dose"] = dose
    request = {"patient": scenario.get("patient") or {}, "medications": medications}
    response = screen(request)
    findings = response["findings"]
    summary = [(f["kind"], f["drugs"], f["severity"]) for f in findings]
    for wanted in scenario.get("expect") or []:
        assert any(_matches(f, wanted) for f in findings), f"missing {wanted}; found {summary}"
    for unwanted in scenario.get("absent") or []:
        unwanted = {k: v for k, v in unwanted.items() if k != "severity"}
        assert not any(_matches(f, unwanted) for f in findings), (
            f"should not find {unwanted}; found {summary}"
        )
    if "unresolved" in scenario:
        assert response["unresolved"] == scenario["unresolved"]
