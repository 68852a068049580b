"""The patient's words read as the pharmacist checks them (actionplans.wording: plain Python)."""

from actionplans.wording import is_clinical_title, medication_keys, named_in, readability, stopped_in

ADVIL = medication_keys(name="Advil 200 mg", recognised_as="advil", ingredients=["ibuprofen"])
BENADRYL = medication_keys(
    name="Benadryl at night", recognised_as="benadryl", ingredients=["diphenhydramine"]
)
TYLENOL_PM = medication_keys(name="Tylenol PM", recognised_as="tylenol pm", ingredients=["acetaminophen", "diphenhydramine"])  # fmt: skip
LISINOPRIL = medication_keys(name="lisinopril 40 mg", recognised_as="lisinopril", ingredients=["lisinopril"])
LIST = {"advil": ADVIL, "benadryl": BENADRYL, "tylenol pm": TYLENOL_PM, "lisinopril": LISINOPRIL}


def test_the_clinical_title_is_recognised_whatever_the_case_spaces_and_punctuation():
    assert is_clinical_title("ibuprofen  WITH ckd.", "Ibuprofen with CKD")
    assert is_clinical_title(" Ibuprofen with CKD ", "Ibuprofen with CKD")
    assert not is_clinical_title("Advil can hurt your kidneys.", "Ibuprofen with CKD")
    assert not is_clinical_title("", "")  # no title: nothing to compare with


def test_the_reading_grade_of_plain_words_is_low_and_of_clinical_words_high():
    plain = readability("Stop taking Advil. Use Tylenol for pain. Call us if the pain gets worse.")
    clinical = readability(
        "Concomitant administration of nonsteroidal anti-inflammatory agents with angiotensin-converting "
        "enzyme inhibitors precipitates nephrotoxicity in chronic kidney disease."
    )
    assert plain.formula == "Flesch-Kincaid" and plain.grade <= 6 and plain.on_target
    assert clinical.grade > 12 and not clinical.on_target and "harder than grade 8" in clinical.verdict
    assert readability("   ") is None


def test_spanish_text_is_graded_with_a_spanish_formula():
    grade = readability("Deje de tomar Advil. Para el dolor de rodilla, tome Tylenol.", language="es")
    assert grade.formula == "Crawford" and 1 <= grade.grade <= 8


def test_a_stop_is_found_by_brand_ingredient_or_name_as_written():
    assert stopped_in("Stop taking Advil. Use Tylenol for pain.", LIST) == {"advil"}
    assert stopped_in("Stop ibuprofen.", LIST) == {"advil"}
    assert stopped_in("Please stop your Benadryl at night 25 mg capsules.", LIST) == {"benadryl"}
    assert stopped_in("Stop Advil and Tylenol PM; use heat on the knee.", LIST) == {"advil", "tylenol pm"}
    assert stopped_in("Deje de tomar Advil.", LIST) == {"advil"}


def test_what_is_not_a_stop_is_not_taken_for_one():
    assert stopped_in("Do not stop lisinopril.", LIST) == set()
    assert stopped_in("Don't stop taking lisinopril, even when you feel well.", LIST) == set()
    assert stopped_in("Never stop lisinopril on your own.", LIST) == set()
    assert stopped_in("No deje de tomar lisinopril.", LIST) == set()
    assert stopped_in("Stop and call your doctor if you feel faint.", LIST) == set()
    assert stopped_in("Take Advil only with food.", LIST) == set()
    assert stopped_in("Stop Advil and use Tylenol instead.", LIST) == {"advil"}  # Tylenol is what to use


def test_names_anywhere_in_a_text_are_found():
    assert named_in("Use Tylenol instead of Advil for your knee.", LIST) == {"advil"}
    assert named_in("Your lisinopril and the Advil together hurt the kidneys.", LIST) == {
        "advil",
        "lisinopril",
    }
