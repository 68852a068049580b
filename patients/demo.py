"""Demo patients, prescribers and medication histories. Entirely fictional.

Every person, address, phone number (555-01xx), e-mail (.example), NPI (made up, with a valid check digit),
plan and member ID below is invented. The medication lists are deliberately full of the problems a
medication review should find (interactions, Beers-list drugs in older adults, duplications, drugs a
condition rules out, nonadherence), so the screening and review features have something to show.

Dates are "days ago", counted back from today when the seed runs, so the record always looks current.
Birth dates are fixed, because a patient is recognised by organisation, name and birth date: a patient
who already exists is skipped entirely, and a prescriber is recognised by organisation and NPI.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from mtm.audit import Actor
from mtm.demo import DemoContext
from patients import services
from patients.models import MedicationSource, Patient, Prescriber

Y = 365  # one year, in days

RX = MedicationSource.PRESCRIPTION
OTC = MedicationSource.OTC
HERBAL = MedicationSource.HERBAL
SUPPLEMENT = MedicationSource.SUPPLEMENT


@dataclass(frozen=True)
class Fills:
    """Dispensings of a prescription at the pharmacy.

    Without `on`, the patient refilled (almost) on time from about a year ago, or from the start date if
    later, until today or the stop date. `on` lists the fill days (days ago) of an irregular history.
    """

    drug: str  # as the pharmacy label prints it
    days: int  # days' supply of each fill
    quantity: str
    on: tuple[int, ...] = ()
    fills_per_rx: int | None = None  # 1 for Schedule II, 6 for Schedule III-V; else a year's refills


@dataclass(frozen=True)
class Med:
    name: str  # the way the patient says it
    strength: str = ""
    directions: str = ""
    why: str = ""
    prescriber: str | None = None  # key in PRESCRIBERS
    source: str = RX
    started: int | None = None  # days ago
    stopped: tuple[int, str] | None = None  # (days ago, reason)
    fills: Fills | None = None
    notes: str = ""


@dataclass(frozen=True)
class Dx:
    code: str  # ICD-10-CM
    onset: int | None = None  # days ago
    resolved: int | None = None  # days ago
    notes: str = ""


@dataclass(frozen=True)
class Reaction:
    substance: str
    reaction: str
    severity: str = "unknown"  # mild / moderate / severe / unknown
    kind: str = "allergy"  # allergy / intolerance / side_effect
    noted: int | None = None  # days ago


@dataclass(frozen=True)
class GeneTest:
    gene: str
    phenotype: str = ""  # CPIC's words: "poor metabolizer"
    allele: str = ""  # HLA-A, HLA-B: "*57:01", with `result`
    result: str = ""
    tested: int | None = None  # days ago
    lab: str = ""


@dataclass(frozen=True)
class Habit:
    factor: str  # patients.models.Factor value: "grapefruit", "alcohol", "pregnant"...
    detail: str = ""
    noted: int = 0  # days ago


@dataclass(frozen=True)
class DemoPatient:
    organisation: str
    entered_by: str  # username of the staff member who typed it in
    details: dict  # Patient fields
    care_team: tuple[tuple[str, str, bool], ...] = ()  # (prescriber key, role, is primary care)
    conditions: tuple[Dx, ...] = ()
    allergies: tuple[Reaction, ...] = ()
    no_known_allergies: bool = False
    # (kind, value, days ago): "86.2 kg", "190 lb", "152/84" (blood pressure), "2.05 mg/dL", "7.6 %"
    measurements: tuple[tuple[str, str, int], ...] = ()
    medications: tuple[Med, ...] = ()
    gene_results: tuple[GeneTest, ...] = ()
    habits: tuple[Habit, ...] = ()
    portal_user: str | None = None  # username of the patient's own portal account


# --- Prescribers ----------------------------------------------------------------------------------

PRESCRIBERS = {
    "riverside": {
        "hartman": {
            "first_name": "Alan", "last_name": "Hartman", "credentials": "MD", "specialty": "Internal medicine",
            "npi": "1237978527", "practice_name": "Capitol Square Internal Medicine",
            "phone": "(608) 555-0120", "fax": "(608) 555-0121",
        },
        "raman": {
            "first_name": "Priya", "last_name": "Raman", "credentials": "DO", "specialty": "Family medicine",
            "npi": "1507615676", "practice_name": "Monona Family Medicine",
            "phone": "(608) 555-0122", "fax": "(608) 555-0123",
        },
        "moller": {
            "first_name": "Jessica", "last_name": "Moller", "credentials": "FNP-C", "specialty": "Family medicine",
            "npi": "1969927429", "practice_name": "Eastside Community Health Clinic",
            "phone": "(608) 555-0124", "fax": "(608) 555-0125",
        },
        "brandt": {
            "first_name": "Michael", "last_name": "Brandt", "credentials": "MD", "specialty": "Cardiology",
            "npi": "1660768460", "practice_name": "Lakeview Heart & Vascular",
            "phone": "(608) 555-0126", "fax": "(608) 555-0127",
        },
        "adeyemi": {
            "first_name": "Olusegun", "last_name": "Adeyemi", "credentials": "MD", "specialty": "Nephrology",
            "npi": "1668295219", "practice_name": "Madison Kidney Specialists",
            "phone": "(608) 555-0128", "fax": "(608) 555-0129",
        },
        "kim": {
            "first_name": "Rachel", "last_name": "Kim", "credentials": "MD", "specialty": "Endocrinology",
            "npi": "1818641841", "practice_name": "Four Lakes Diabetes & Endocrine",
            "phone": "(608) 555-0130", "fax": "(608) 555-0133",
        },
        "ostrowski": {
            "first_name": "Daniel", "last_name": "Ostrowski", "credentials": "MD", "specialty": "Psychiatry",
            "npi": "1046214999", "practice_name": "Yahara Behavioral Health",
            "phone": "(608) 555-0134", "fax": "(608) 555-0135",
        },
        "vasquez": {
            "first_name": "Elena", "last_name": "Vasquez", "credentials": "MD", "specialty": "Pulmonology",
            "npi": "1744208848", "practice_name": "Isthmus Lung & Sleep Center",
            "phone": "(608) 555-0136", "fax": "(608) 555-0137",
        },
        "lindahl": {
            "first_name": "Kevin", "last_name": "Lindahl", "credentials": "PA-C", "specialty": "Pain management",
            "npi": "1429843794", "practice_name": "Dane County Spine & Pain",
            "phone": "(608) 555-0138", "fax": "(608) 555-0139",
        },
    },
    "lakeside": {
        "brooks": {
            "first_name": "Nathaniel", "last_name": "Brooks", "credentials": "MD", "specialty": "Family medicine",
            "npi": "1455160691", "practice_name": "Olentangy Family Practice",
            "phone": "(614) 555-0150", "fax": "(614) 555-0151",
        },
        "liu": {
            "first_name": "Helen", "last_name": "Liu", "credentials": "MD", "specialty": "Cardiology",
            "npi": "1998375442", "practice_name": "Scioto Heart Associates",
            "phone": "(614) 555-0152", "fax": "(614) 555-0153",
        },
    },
}  # fmt: skip


# --- Riverside Pharmacy patients ------------------------------------------------------------------

MARGARET_OKAFOR = DemoPatient(
    # Diabetic kidney disease now at stage 4, still on full-dose metformin; ACE inhibitor + thiazide +
    # OTC ibuprofen ("triple whammy") after her doctor stopped naproxen; Benadryl to sleep at 74.
    organisation="riverside",
    entered_by="demo-staff",
    portal_user="demo-patient",
    details={
        "first_name": "Margaret", "last_name": "Okafor", "date_of_birth": datetime.date(1952, 3, 14),
        "sex": "female", "phone": "(608) 555-0117", "mobile_phone": "(608) 555-0118",
        "email": "margaret.okafor@mail.example", "address_line1": "2218 Cypress Way", "city": "Madison",
        "state": "WI", "postal_code": "53713", "plan_name": "Badger Medicare Advantage (HMO)",
        "member_id": "BMA40718822", "consent_email_reminders": True, "consent_sms_reminders": True,
    },
    care_team=(
        ("hartman", "primary care", True),
        ("adeyemi", "nephrology", False),
        ("kim", "endocrinology", False),
    ),
    conditions=(
        Dx("E11.22", 14 * Y),
        Dx("N18.4", 180, notes="Was stage 3b until this year"),
        Dx("I12.9", 15 * Y),
        Dx("E78.5", 12 * Y),
        Dx("E66.9", 10 * Y),
        Dx("M17.11", 6 * Y),
        Dx("K21.9", 5 * Y),
        Dx("G47.00", 3 * Y),
    ),
    allergies=(
        Reaction("penicillin", "hives", "moderate", "allergy", 40 * Y),
        Reaction("codeine", "nausea and vomiting", "mild", "intolerance", 10 * Y),
    ),
    measurements=(
        ("height", "160 cm", 3 * Y),
        ("weight", "88.5 kg", 300),
        ("weight", "86.2 kg", 30),
        ("serum_creatinine", "1.38 mg/dL", 420),
        ("serum_creatinine", "1.88 mg/dL", 200),
        ("serum_creatinine", "2.05 mg/dL", 30),
        ("blood_pressure", "152/84", 200),
        ("blood_pressure", "146/82", 30),
        ("a1c", "8.4 %", 280),
        ("a1c", "7.9 %", 120),
        ("a1c", "7.6 %", 30),
    ),
    medications=(
        Med("metformin 1000 mg", "1000 mg", "1 tablet by mouth twice a day with meals", "for sugar",
            "hartman", started=10 * Y, fills=Fills("metformin 1000 mg tablet", 90, "180")),
        Med("glipizide 5 mg", "5 mg", "1 tablet by mouth every morning before breakfast", "for diabetes",
            "kim", started=3 * Y, fills=Fills("glipizide 5 mg tablet", 90, "90")),
        Med("lisinopril 40 mg", "40 mg", "1 tablet by mouth every morning", "for blood pressure and kidneys",
            "hartman", started=8 * Y, fills=Fills("lisinopril 40 mg tablet", 90, "90")),
        Med("HCTZ 25", "25 mg", "1 tablet by mouth every morning", "water pill, for blood pressure",
            "hartman", started=6 * Y, fills=Fills("hydrochlorothiazide 25 mg tablet", 90, "90")),
        Med("Lipitor 20 mg tablet", "20 mg", "1 tablet by mouth at bedtime", "for cholesterol",
            "hartman", started=7 * Y, fills=Fills("atorvastatin 20 mg tablet", 90, "90")),
        Med("Advil", "200 mg", "2 tablets up to three times a day when my knee hurts", "knee pain",
            source=OTC, started=Y, notes="Started after the naproxen was stopped"),
        Med("Tylenol Extra Strength", "500 mg", "2 caplets in the morning if my knee is bad", "knee pain",
            source=OTC, started=4 * Y),
        Med("Voltaren gel", "1%", "rub on the right knee up to 4 times a day", "knee pain", source=OTC,
            started=2 * Y),
        Med("Benadryl at night", "25 mg", "1 capsule by mouth at bedtime", "to help me sleep", source=OTC,
            started=2 * Y),
        Med("Prilosec OTC", "20 mg", "1 tablet before breakfast", "heartburn", source=OTC, started=4 * Y),
        Med("vitamin D3 2000 units", "2000 IU", "1 softgel every day", "for my bones", source=SUPPLEMENT),
        Med("calcium + D", "600 mg / 400 IU", "1 tablet twice a day", "for my bones", source=SUPPLEMENT),
        Med("cinnamon capsules", "500 mg", "1 capsule twice a day", "to help my sugar", source=HERBAL,
            started=Y),
        Med("Januvia 100 mg", "100 mg", "1 tablet by mouth every day", "for diabetes", "kim",
            started=5 * Y, stopped=(3 * Y, "could not afford it in the coverage gap; glipizide instead")),
        Med("naproxen 500 mg", "500 mg", "1 tablet twice a day with food", "knee pain", "hartman",
            started=4 * Y, stopped=(Y + 20, "kidney function getting worse")),
    ),
)  # fmt: skip

HAROLD_JENSEN = DemoPatient(
    # Warfarin with fish oil, ginkgo and ibuprofen; simvastatin 40 mg with amlodipine; diazepam (long-acting
    # benzodiazepine) and Tylenol PM (diphenhydramine) at 82.
    organisation="riverside",
    entered_by="demo-pharmacist",
    details={
        "first_name": "Harold", "last_name": "Jensen", "date_of_birth": datetime.date(1944, 7, 2),
        "sex": "male", "phone": "(608) 555-0140", "address_line1": "615 Elm Terrace", "city": "Monona",
        "state": "WI", "postal_code": "53716", "plan_name": "Badger Medicare Advantage (HMO)",
        "member_id": "BMA22950461",
    },
    care_team=(
        ("raman", "primary care", True),
        ("brandt", "cardiology", False),
    ),
    conditions=(
        Dx("I48.91", 6 * Y),
        Dx("Z79.01", 6 * Y),
        Dx("I10", 20 * Y),
        Dx("E78.5", 15 * Y),
        Dx("N40.1", 8 * Y),
        Dx("F41.1", 30 * Y),
        Dx("G47.00", 5 * Y),
    ),
    allergies=(
        Reaction("sulfa antibiotics", "rash", "moderate", "allergy", 25 * Y),
        Reaction("lisinopril", "dry cough", "mild", "side_effect", 200),
    ),
    measurements=(
        ("height", "178 cm", 2 * Y),
        ("weight", "79.4 kg", 180),
        ("weight", "77.9 kg", 20),
        ("blood_pressure", "138/78", 180),
        ("blood_pressure", "132/76", 20),
        ("serum_creatinine", "1.1 mg/dL", 200),
        ("serum_creatinine", "1.2 mg/dL", 20),
    ),
    medications=(
        Med("Coumadin 5 mg", "5 mg", "1 tablet every evening, but 1/2 tablet on Mondays and Fridays",
            "blood thinner for A-fib", "brandt", started=6 * Y,
            fills=Fills("warfarin sodium 5 mg tablet", 30, "26"),
            notes="INR checked at the cardiology anticoagulation clinic; 30 mg a week"),
        Med("Toprol XL 50", "50 mg", "1 tablet by mouth every morning", "for heart rate", "brandt",
            started=6 * Y, fills=Fills("metoprolol succinate ER 50 mg tablet", 30, "30")),
        Med("amlodipine 10 mg", "10 mg", "1 tablet by mouth every day", "for blood pressure", "raman",
            started=9 * Y, fills=Fills("amlodipine 10 mg tablet", 30, "30")),
        Med("Zocor 40 mg", "40 mg", "1 tablet by mouth at bedtime", "for cholesterol", "raman",
            started=12 * Y, fills=Fills("simvastatin 40 mg tablet", 30, "30")),
        Med("losartan 50 mg", "50 mg", "1 tablet by mouth every day", "for blood pressure", "raman",
            started=200, fills=Fills("losartan 50 mg tablet", 30, "30")),
        Med("Valium 5 mg", "5 mg", "1 tablet at bedtime as needed for nerves", "nerves", "raman",
            started=25 * Y, fills=Fills("diazepam 5 mg tablet", 30, "30", fills_per_rx=6)),
        Med("Flomax 0.4 mg", "0.4 mg", "1 capsule 30 minutes after supper", "for my prostate", "raman",
            started=8 * Y, fills=Fills("tamsulosin 0.4 mg capsule", 30, "30")),
        Med("fish oil", "1200 mg", "2 softgels every day", "for my heart", source=SUPPLEMENT, started=5 * Y),
        Med("ginkgo", "120 mg", "1 capsule every day", "for memory", source=HERBAL, started=2 * Y),
        Med("Advil", "200 mg", "2 tablets when my back acts up, a few times a week", "back pain",
            source=OTC),
        Med("Tylenol PM", "500 mg / 25 mg", "2 caplets at bedtime", "to sleep", source=OTC, started=3 * Y),
        Med("vitamin D3 1000 units", "1000 IU", "1 tablet every day", "bones", source=SUPPLEMENT),
        Med("lisinopril 20 mg", "20 mg", "1 tablet by mouth every day", "for blood pressure", "raman",
            started=9 * Y, stopped=(200, "cough; replaced by losartan"),
            fills=Fills("lisinopril 20 mg tablet", 30, "30")),
        Med("digoxin 0.125 mg", "0.125 mg", "1 tablet by mouth every day", "for A-fib", "brandt",
            started=6 * Y, stopped=(4 * Y, "replaced by metoprolol for rate control")),
    ),
    habits=(
        Habit("grapefruit", "half a grapefruit with breakfast most days", 30),
        Habit("alcohol", "a beer or two most evenings", 30),
    ),
)  # fmt: skip

DOLORES_RAMIREZ = DemoPatient(
    # Sertraline + tramadol + St John's wort (serotonin syndrome); takes her statin only half the time.
    organisation="riverside",
    entered_by="demo-staff",
    details={
        "first_name": "Dolores", "last_name": "Ramirez", "date_of_birth": datetime.date(1958, 5, 21),
        "sex": "female", "phone": "(608) 555-0144", "mobile_phone": "(608) 555-0145",
        "address_line1": "3407 Meadowlark Drive", "city": "Madison", "state": "WI", "postal_code": "53714",
        "preferred_language": "es", "plan_name": "Badger Medicare Advantage Dual (HMO D-SNP)",
        "member_id": "BMD51200379", "consent_sms_reminders": True,
    },
    care_team=(
        ("moller", "primary care", True),
        ("lindahl", "pain management", False),
    ),
    conditions=(
        Dx("F32.A", 4 * Y),
        Dx("M54.50", 2 * Y),
        Dx("G89.29", 2 * Y),
        Dx("E11.9", 7 * Y),
        Dx("I10", 10 * Y),
        Dx("E78.5", 7 * Y),
    ),
    allergies=(Reaction("sulfa antibiotics (Bactrim)", "rash and itching", "moderate", "allergy", 15 * Y),),
    measurements=(
        ("height", "155 cm", Y),
        ("weight", "74.8 kg", 60),
        ("blood_pressure", "134/80", 60),
        ("a1c", "7.1 %", 200),
        ("a1c", "6.9 %", 60),
        ("serum_creatinine", "0.8 mg/dL", 60),
    ),
    medications=(
        Med("Zoloft 100 mg", "100 mg", "1 tablet by mouth every morning", "para los nervios (depression)",
            "moller", started=4 * Y, fills=Fills("sertraline 100 mg tablet", 30, "30")),
        Med("tramadol 50 mg", "50 mg", "1 tablet every 6 hours as needed for back pain", "back pain",
            "lindahl", started=Y + 180,
            fills=Fills("tramadol 50 mg tablet", 30, "90", on=(340, 300, 250, 215, 170, 120, 84, 40, 8),
                        fills_per_rx=6)),
        Med("hierba de San Juan (St John's wort)", "300 mg", "1 capsule three times a day", "for my mood",
            source=HERBAL, started=Y, notes="Buys it at the tienda on Park Street"),
        Med("metformin ER 500 mg", "500 mg", "2 tablets by mouth with supper", "for sugar", "moller",
            started=7 * Y, fills=Fills("metformin ER 500 mg tablet", 90, "180")),
        Med("lisinopril 20 mg", "20 mg", "1 tablet by mouth every day", "para la presion (blood pressure)",
            "moller", started=9 * Y, fills=Fills("lisinopril 20 mg tablet", 90, "90")),
        Med("Crestor 10 mg", "10 mg", "1 tablet by mouth at bedtime", "for cholesterol", "moller",
            started=3 * Y, fills=Fills("rosuvastatin 10 mg tablet", 30, "30", on=(352, 318, 255, 190, 120, 41)),
            notes="Says she skips it when her legs ache"),
        Med("omeprazole 20 mg", "20 mg", "1 capsule before breakfast", "stomach", "moller", started=2 * Y),
        Med("baby aspirin", "81 mg", "1 tablet every day", "for my heart", source=OTC, started=3 * Y),
        Med("vitamin B12", "1000 mcg", "1 tablet every day", "energy", source=SUPPLEMENT),
        Med("te de manzanilla (chamomile tea)", "1 cup", "1 cup at night", "to sleep", source=HERBAL),
        Med("gabapentin 300 mg", "300 mg", "1 capsule three times a day", "back pain", "lindahl",
            started=2 * Y, stopped=(Y + 180, "made me dizzy and sleepy")),
        Med("citalopram 20 mg", "20 mg", "1 tablet every day", "depression", "moller", started=5 * Y,
            stopped=(4 * Y, "not helping; changed to Zoloft")),
    ),
)  # fmt: skip

WALTER_KOWALSKI = DemoPatient(
    # Heart failure on pioglitazone and OTC naproxen; clopidogrel with omeprazole. Adherent (90-day fills).
    organisation="riverside",
    entered_by="demo-pharmacist",
    details={
        "first_name": "Walter", "last_name": "Kowalski", "date_of_birth": datetime.date(1949, 9, 30),
        "sex": "male", "phone": "(608) 555-0146", "email": "walt.kowalski@mail.example",
        "address_line1": "77 Pheasant Run", "city": "Sun Prairie", "state": "WI", "postal_code": "53590",
        "plan_name": "Badger Medicare Advantage (HMO)", "member_id": "BMA70386154",
        "consent_email_reminders": True,
    },
    care_team=(
        ("hartman", "primary care", True),
        ("brandt", "cardiology", False),
        ("kim", "endocrinology", False),
    ),
    conditions=(
        Dx("I11.0", 8 * Y),
        Dx("I50.22", 3 * Y, notes="EF 30% on last echo"),
        Dx("I25.10", 10 * Y),
        Dx("Z95.5", 3 * Y, notes="Drug-eluting stent"),
        Dx("E11.9", 12 * Y),
        Dx("E78.5", 12 * Y),
        Dx("M17.0", 5 * Y),
        Dx("Z87.891", 20 * Y),
    ),
    allergies=(Reaction("codeine", "nausea", "mild", "intolerance", 8 * Y),),
    measurements=(
        ("height", "175 cm", 2 * Y),
        ("weight", "88.1 kg", 150),
        ("weight", "89.0 kg", 60),
        ("weight", "91.6 kg", 10),
        ("blood_pressure", "124/72", 60),
        ("blood_pressure", "118/70", 10),
        ("a1c", "7.8 %", 180),
        ("a1c", "7.2 %", 20),
        ("serum_creatinine", "1.15 mg/dL", 150),
        ("serum_creatinine", "1.3 mg/dL", 20),
    ),
    medications=(
        Med("carvedilol 12.5 mg", "12.5 mg", "1 tablet by mouth twice a day with food", "for my heart",
            "brandt", started=3 * Y, fills=Fills("carvedilol 12.5 mg tablet", 90, "180")),
        Med("Entresto 49-51 mg", "49-51 mg", "1 tablet by mouth twice a day", "heart failure", "brandt",
            started=2 * Y, fills=Fills("sacubitril-valsartan 49-51 mg tablet", 90, "180")),
        Med("furosemide 40 mg", "40 mg", "1 tablet every morning, 2 if my ankles swell", "water pill",
            "brandt", started=3 * Y, fills=Fills("furosemide 40 mg tablet", 90, "90")),
        Med("Plavix 75 mg", "75 mg", "1 tablet by mouth every day", "to keep my stent open", "brandt",
            started=3 * Y, fills=Fills("clopidogrel 75 mg tablet", 90, "90")),
        Med("omeprazole 40 mg", "40 mg", "1 capsule before breakfast", "to protect my stomach", "hartman",
            started=3 * Y, fills=Fills("omeprazole DR 40 mg capsule", 90, "90")),
        Med("atorvastatin 80 mg", "80 mg", "1 tablet by mouth at bedtime", "cholesterol", "brandt",
            started=3 * Y, fills=Fills("atorvastatin 80 mg tablet", 90, "90")),
        Med("Actos 30 mg", "30 mg", "1 tablet by mouth every day", "diabetes", "kim", started=4 * Y,
            fills=Fills("pioglitazone 30 mg tablet", 90, "90")),
        Med("metformin 1000 mg", "1000 mg", "1 tablet by mouth twice a day with meals", "diabetes",
            "hartman", started=12 * Y, fills=Fills("metformin 1000 mg tablet", 90, "180")),
        Med("aspirin 81 mg", "81 mg", "1 tablet every day", "heart (cardiologist said to)", source=OTC,
            started=3 * Y),
        Med("nitroglycerin 0.4 mg", "0.4 mg", "1 under the tongue for chest pain; may repeat every 5 minutes, "
            "up to 3", "chest pain", "brandt", started=3 * Y),
        Med("Aleve", "220 mg", "2 tablets twice a day for my knees", "knee pain", source=OTC, started=Y),
        Med("glucosamine chondroitin", "1500 mg / 1200 mg", "1 tablet every day", "joints",
            source=SUPPLEMENT, started=3 * Y),
        Med("lisinopril 20 mg", "20 mg", "1 tablet by mouth every day", "blood pressure", "hartman",
            started=8 * Y, stopped=(2 * Y, "replaced by Entresto")),
        Med("glipizide 10 mg", "10 mg", "1 tablet twice a day", "diabetes", "kim", started=8 * Y,
            stopped=(4 * Y, "low blood sugars; Actos instead")),
    ),
    gene_results=(
        GeneTest("CYP2C19", "poor metabolizer", tested=40, lab="Four Lakes Genomics Laboratory"),
    ),
)  # fmt: skip

EVELYN_THORNTON = DemoPatient(
    # 86 with dementia: oxybutynin + amitriptyline + doxylamine + meclizine (anticholinergic burden, and
    # against her donepezil); glyburide with an A1c of 6.1; alendronate for 6 years. Daughter is caregiver.
    organisation="riverside",
    entered_by="demo-pharmacist",
    details={
        "first_name": "Evelyn", "last_name": "Thornton", "date_of_birth": datetime.date(1940, 1, 18),
        "sex": "female", "phone": "(608) 555-0147", "address_line1": "4410 Hawthorne Court",
        "address_line2": "Apt 2", "city": "Fitchburg", "state": "WI", "postal_code": "53711",
        "representative_name": "Susan Hale", "representative_relationship": "daughter",
        "representative_phone": "(608) 555-0162", "representative_email": "susan.hale@mail.example",
        "consent_email_reminders": True, "plan_name": "Badger Rx Part D (PDP)", "member_id": "BRX83010945",
    },
    care_team=(("raman", "primary care", True),),
    conditions=(
        Dx("F03.90", 3 * Y),
        Dx("N32.81", 6 * Y),
        Dx("E11.42", 10 * Y),
        Dx("I10", 25 * Y),
        Dx("M81.0", 8 * Y),
        Dx("G47.00", 4 * Y),
        Dx("K59.00", 2 * Y),
    ),
    allergies=(Reaction("Ambien (zolpidem)", "confusion, wandering at night", "moderate", "side_effect", Y),),
    measurements=(
        ("height", "160 cm", 5 * Y),
        ("height", "157.5 cm", 90),
        ("weight", "54.2 kg", 300),
        ("weight", "51.8 kg", 30),
        ("blood_pressure", "128/70", 30),
        ("serum_creatinine", "1.0 mg/dL", 30),
        ("a1c", "6.4 %", 200),
        ("a1c", "6.1 %", 30),
    ),
    medications=(
        Med("donepezil 10 mg", "10 mg", "1 tablet by mouth at bedtime", "memory", "raman", started=3 * Y,
            fills=Fills("donepezil 10 mg tablet", 30, "30")),
        Med("oxybutynin 5 mg", "5 mg", "1 tablet by mouth three times a day", "bladder", "raman",
            started=5 * Y, fills=Fills("oxybutynin chloride 5 mg tablet", 30, "90")),
        Med("amitriptyline 25 mg", "25 mg", "1 tablet by mouth at bedtime", "nerve pain in feet, and sleep",
            "raman", started=8 * Y, fills=Fills("amitriptyline 25 mg tablet", 30, "30")),
        Med("glyburide 5 mg", "5 mg", "1 tablet by mouth twice a day with meals", "sugar", "raman",
            started=15 * Y, fills=Fills("glyburide 5 mg tablet", 30, "60")),
        Med("Unisom SleepTabs", "25 mg", "1 tablet at bedtime when she can't sleep", "sleep", source=OTC,
            started=Y, notes="Her daughter buys these"),
        Med("alendronate 70 mg", "70 mg", "1 tablet every Sunday morning with a full glass of water; "
            "stay upright 30 minutes", "bones", "raman", started=6 * Y,
            fills=Fills("alendronate 70 mg tablet", 28, "4")),
        Med("HCTZ 12.5 mg", "12.5 mg", "1 capsule every morning", "blood pressure", "raman", started=10 * Y,
            fills=Fills("hydrochlorothiazide 12.5 mg capsule", 30, "30")),
        Med("lisinopril 10 mg", "10 mg", "1 tablet every morning", "blood pressure", "raman", started=10 * Y,
            fills=Fills("lisinopril 10 mg tablet", 30, "30")),
        Med("meclizine 25 mg", "25 mg", "1 tablet as needed for dizziness", "dizziness", source=OTC,
            started=2 * Y),
        Med("senna", "8.6 mg", "2 tablets at bedtime", "constipation", source=OTC, started=2 * Y),
        Med("calcium + D", "600 mg / 800 IU", "1 tablet twice a day", "bones", source=SUPPLEMENT),
        Med("melatonin 3 mg", "3 mg", "1 tablet at bedtime", "sleep", source=SUPPLEMENT, started=Y),
        Med("Tylenol Arthritis", "650 mg", "1 caplet twice a day", "aches", source=OTC),
        Med("Ambien 5 mg", "5 mg", "1 tablet at bedtime", "sleep", "raman", started=4 * Y,
            stopped=(Y, "confusion and wandering at night")),
    ),
)  # fmt: skip

LINDA_PARK = DemoPatient(
    # Asthma on propranolol; oxycodone + alprazolam (two prescribers, no naloxone); aspirin-sensitive
    # asthma yet takes Excedrin Migraine.
    organisation="riverside",
    entered_by="demo-pharmacist",
    details={
        "first_name": "Linda", "last_name": "Park", "date_of_birth": datetime.date(1968, 8, 9),
        "sex": "female", "phone": "(608) 555-0148", "mobile_phone": "(608) 555-0149",
        "email": "linda.park@mail.example", "address_line1": "1129 Birchwood Lane", "city": "Middleton",
        "state": "WI", "postal_code": "53562", "plan_name": "Capitol Health Partners PPO",
        "member_id": "CHP66120938", "consent_email_reminders": True, "consent_sms_reminders": True,
    },
    care_team=(
        ("moller", "primary care", True),
        ("vasquez", "pulmonology", False),
        ("ostrowski", "psychiatry", False),
        ("lindahl", "pain management", False),
    ),
    conditions=(
        Dx("J45.909", 20 * Y),
        Dx("G43.909", 30 * Y),
        Dx("F41.1", 6 * Y),
        Dx("M54.50", 3 * Y),
        Dx("G89.29", 3 * Y),
        Dx("J30.9", 20 * Y),
    ),
    allergies=(
        Reaction("aspirin", "wheezing, asthma attack", "severe", "allergy", 12 * Y),
        Reaction("morphine", "itching", "mild", "intolerance", 3 * Y),
    ),
    measurements=(
        ("height", "165 cm", Y),
        ("weight", "70.3 kg", 40),
        ("blood_pressure", "122/78", 40),
    ),
    medications=(
        Med("albuterol inhaler", "90 mcg/puff", "2 puffs every 4 to 6 hours as needed for wheezing",
            "asthma", "vasquez", started=20 * Y),
        Med("Symbicort 160/4.5", "160/4.5 mcg", "2 puffs twice a day, rinse mouth after", "asthma",
            "vasquez", started=4 * Y),
        Med("Singulair 10 mg", "10 mg", "1 tablet at bedtime", "asthma and allergies", "vasquez",
            started=5 * Y),
        Med("Inderal LA 80 mg", "80 mg", "1 capsule every morning", "to prevent migraines", "moller",
            started=2 * Y, fills=Fills("propranolol ER 80 mg capsule", 30, "30")),
        Med("Xanax 0.5 mg", "0.5 mg", "1 tablet up to three times a day as needed for anxiety", "anxiety",
            "ostrowski", started=5 * Y, fills=Fills("alprazolam 0.5 mg tablet", 30, "90", fills_per_rx=6)),
        Med("oxycodone 5 mg", "5 mg", "1 tablet every 6 hours as needed for back pain", "back pain",
            "lindahl", started=Y + 180, fills=Fills("oxycodone HCl 5 mg tablet", 30, "120", fills_per_rx=1)),
        Med("Flexeril 10 mg", "10 mg", "1 tablet at bedtime as needed for spasms", "back spasms", "lindahl",
            started=Y),
        Med("sumatriptan 50 mg", "50 mg", "1 tablet when a migraine starts; may repeat once after 2 hours",
            "migraine", "moller", started=8 * Y),
        Med("Excedrin Migraine", "250/250/65 mg", "2 caplets when a headache starts, most weeks 3 or 4 times",
            "headaches", source=OTC, started=2 * Y),
        Med("Zyrtec", "10 mg", "1 tablet every day in spring and fall", "allergies", source=OTC),
        Med("magnesium glycinate", "400 mg", "1 capsule every day", "migraine prevention", source=SUPPLEMENT,
            started=Y),
        Med("topiramate 50 mg", "50 mg", "1 tablet twice a day", "to prevent migraines", "moller",
            started=3 * Y, stopped=(2 * Y, "tingling hands and trouble finding words")),
    ),
)  # fmt: skip

GEORGE_ABERNATHY = DemoPatient(
    # Norco 10-325 plus Tylenol Extra Strength (over 4 g acetaminophen a day); Sudafed with BPH and
    # hypertension; confirmed no known allergies.
    organisation="riverside",
    entered_by="demo-staff",
    no_known_allergies=True,
    details={
        "first_name": "George", "last_name": "Abernathy", "date_of_birth": datetime.date(1947, 4, 25),
        "sex": "male", "phone": "(608) 555-0155", "address_line1": "908 Lakewood Boulevard",
        "city": "Madison", "state": "WI", "postal_code": "53704",
        "plan_name": "Badger Medicare Advantage (HMO)", "member_id": "BMA31877520",
    },
    care_team=(
        ("hartman", "primary care", True),
        ("vasquez", "pulmonology", False),
    ),
    conditions=(
        Dx("J44.9", 9 * Y),
        Dx("M17.11", 7 * Y),
        Dx("I10", 15 * Y),
        Dx("N40.1", 6 * Y),
        Dx("E78.5", 10 * Y),
        Dx("Z87.891", 12 * Y, notes="Quit smoking 12 years ago, 40 pack-years"),
    ),
    measurements=(
        ("height", "183 cm", 2 * Y),
        ("weight", "97.5 kg", 120),
        ("weight", "96.1 kg", 15),
        ("blood_pressure", "142/80", 120),
        ("blood_pressure", "136/78", 15),
        ("serum_creatinine", "1.0 mg/dL", 120),
    ),
    medications=(
        Med("Norco 10-325", "10 mg / 325 mg", "1 tablet every 6 hours as needed for knee pain", "knee pain",
            "hartman", started=Y, fills=Fills("hydrocodone-acetaminophen 10-325 mg tablet", 30, "120",
                                              fills_per_rx=1)),
        Med("Tylenol Extra Strength", "500 mg", "2 caplets three times a day", "knee pain", source=OTC,
            started=3 * Y),
        Med("Spiriva Respimat", "2.5 mcg/puff", "2 puffs once a day", "COPD", "vasquez", started=6 * Y),
        Med("albuterol inhaler", "90 mcg/puff", "2 puffs every 4 hours as needed for shortness of breath",
            "COPD", "vasquez", started=9 * Y),
        Med("amlodipine 5 mg", "5 mg", "1 tablet every day", "blood pressure", "hartman", started=15 * Y,
            fills=Fills("amlodipine 5 mg tablet", 90, "90")),
        Med("tamsulosin 0.4 mg", "0.4 mg", "1 capsule after supper", "prostate", "hartman", started=6 * Y,
            fills=Fills("tamsulosin 0.4 mg capsule", 90, "90")),
        Med("atorvastatin 40 mg", "40 mg", "1 tablet at bedtime", "cholesterol", "hartman", started=10 * Y,
            fills=Fills("atorvastatin 40 mg tablet", 90, "90")),
        Med("aspirin 81 mg", "81 mg", "1 tablet every day", "heart", source=OTC, started=10 * Y),
        Med("Sudafed", "30 mg", "2 tablets every 6 hours for a stuffy nose in the winter", "stuffy nose",
            source=OTC, started=90),
        Med("fish oil", "1000 mg", "1 softgel every day", "heart", source=SUPPLEMENT),
        Med("saw palmetto", "320 mg", "1 softgel every day", "prostate", source=HERBAL, started=2 * Y),
        Med("meloxicam 15 mg", "15 mg", "1 tablet every day", "knee pain", "hartman", started=3 * Y,
            stopped=(Y, "stomach upset; Norco instead")),
        Med("Advair 250/50", "250/50 mcg", "1 puff twice a day", "COPD", "vasquez", started=9 * Y,
            stopped=(6 * Y, "replaced by Spiriva")),
    ),
)  # fmt: skip

BETTY_SORENSEN = DemoPatient(
    # No allergies asked yet (nothing recorded). Levothyroxine taken with calcium and a PPI; long-term PPI
    # with osteoporosis; biotin that skews thyroid tests.
    organisation="riverside",
    entered_by="demo-staff",
    details={
        "first_name": "Betty", "last_name": "Sorensen", "date_of_birth": datetime.date(1963, 2, 11),
        "sex": "female", "phone": "(608) 555-0156", "email": "betty.sorensen@mail.example",
        "address_line1": "52 Orchard Hill Road", "city": "Verona", "state": "WI", "postal_code": "53593",
        "plan_name": "Capitol Health Partners PPO", "member_id": "CHP40099271",
        "consent_email_reminders": True,
    },
    care_team=(
        ("moller", "primary care", True),
        ("kim", "endocrinology", False),
    ),
    conditions=(
        Dx("E03.9", 12 * Y),
        Dx("K21.9", 6 * Y),
        Dx("M81.0", 2 * Y),
        Dx("E55.9", 2 * Y),
        Dx("J30.9", 15 * Y),
    ),
    measurements=(
        ("height", "168 cm", 45),
        ("weight", "62.0 kg", 45),
        ("blood_pressure", "118/74", 45),
    ),
    medications=(
        Med("Synthroid 88 mcg", "88 mcg", "1 tablet every morning with breakfast", "thyroid", "kim",
            started=12 * Y),
        Med("omeprazole 40 mg", "40 mg", "1 capsule before breakfast", "heartburn", "moller", started=6 * Y),
        Med("Fosamax 70 mg", "70 mg", "1 tablet every Saturday morning", "osteoporosis", "moller",
            started=2 * Y),
        Med("calcium + D", "600 mg / 400 IU", "1 tablet with breakfast", "bones", source=SUPPLEMENT,
            started=2 * Y),
        Med("vitamin D3 2000 units", "2000 IU", "1 softgel every day", "low vitamin D", source=SUPPLEMENT,
            started=2 * Y),
        Med("Claritin", "10 mg", "1 tablet every day", "allergies", source=OTC),
        Med("biotin", "5000 mcg", "1 capsule every day", "hair and nails", source=SUPPLEMENT, started=Y),
        Med("Tums", "750 mg", "2 tablets as needed for heartburn", "heartburn", source=OTC),
        Med("Zantac 150", "150 mg", "1 tablet twice a day", "heartburn", "moller", started=8 * Y,
            stopped=(6 * Y, "replaced by omeprazole")),
    ),
)  # fmt: skip

THOMAS_WHITAKER = DemoPatient(
    # CKD 3b: lisinopril + spironolactone + potassium chloride + a potassium salt substitute; the
    # potassium was started for low potassium on chlorthalidone, which has since been stopped.
    organisation="riverside",
    entered_by="demo-pharmacist",
    details={
        "first_name": "Thomas", "last_name": "Whitaker", "date_of_birth": datetime.date(1946, 6, 3),
        "sex": "male", "phone": "(608) 555-0157", "email": "thomas.whitaker@mail.example",
        "address_line1": "1730 Prairie Rose Drive", "city": "Madison", "state": "WI", "postal_code": "53719",
        "plan_name": "Badger Medicare Advantage (HMO)", "member_id": "BMA96604183",
    },
    care_team=(
        ("raman", "primary care", True),
        ("adeyemi", "nephrology", False),
    ),
    conditions=(
        Dx("I12.9", 15 * Y),
        Dx("N18.32", 3 * Y),
        Dx("M10.9", 6 * Y),
        Dx("N40.1", 8 * Y),
        Dx("E78.5", 12 * Y),
        Dx("H35.3130", 4 * Y),
        Dx("E87.6", 4 * Y, resolved=2 * Y, notes="On chlorthalidone"),
    ),
    allergies=(Reaction("penicillin", "rash as a child", "unknown", "allergy"),),
    measurements=(
        ("height", "180 cm", 2 * Y),
        ("weight", "84.0 kg", 100),
        ("serum_creatinine", "1.72 mg/dL", 300),
        ("serum_creatinine", "1.85 mg/dL", 100),
        ("serum_creatinine", "1.9 mg/dL", 20),
        ("blood_pressure", "158/76", 100),
        ("blood_pressure", "150/74", 20),
    ),
    medications=(
        Med("lisinopril 40 mg", "40 mg", "1 tablet by mouth every day", "blood pressure", "raman",
            started=10 * Y, fills=Fills("lisinopril 40 mg tablet", 90, "90")),
        Med("spironolactone 25 mg", "25 mg", "1 tablet by mouth every day", "blood pressure (kidney doctor)",
            "adeyemi", started=Y - 30, fills=Fills("spironolactone 25 mg tablet", 30, "30")),
        Med("Klor-Con M20", "20 mEq", "1 tablet twice a day with food", "low potassium", "raman",
            started=4 * Y, fills=Fills("potassium chloride ER 20 mEq tablet", 30, "60")),
        Med("amlodipine 10 mg", "10 mg", "1 tablet by mouth every day", "blood pressure", "raman",
            started=6 * Y, fills=Fills("amlodipine 10 mg tablet", 90, "90")),
        Med("allopurinol 300 mg", "300 mg", "1 tablet every day", "gout", "raman", started=6 * Y,
            fills=Fills("allopurinol 300 mg tablet", 90, "90")),
        Med("tamsulosin 0.4 mg", "0.4 mg", "1 capsule at bedtime", "prostate", "raman", started=8 * Y),
        Med("finasteride 5 mg", "5 mg", "1 tablet every day", "prostate", "raman", started=5 * Y),
        Med("atorvastatin 40 mg", "40 mg", "1 tablet every day", "cholesterol", "raman", started=12 * Y),
        Med("aspirin 81 mg", "81 mg", "1 tablet every day", "heart", source=OTC),
        Med("NoSalt salt substitute", "", "on food instead of salt", "kidney doctor said to cut salt",
            source=OTC, started=Y - 30),
        Med("PreserVision AREDS 2", "", "1 softgel twice a day", "macular degeneration", source=SUPPLEMENT,
            started=4 * Y),
        Med("turmeric", "500 mg", "1 capsule every day", "joints", source=HERBAL, started=Y),
        Med("Metamucil", "1 tablespoon", "1 tablespoon in water every morning", "regularity", source=OTC),
        Med("chlorthalidone 25 mg", "25 mg", "1 tablet every morning", "blood pressure", "raman",
            started=6 * Y, stopped=(2 * Y, "low potassium and kidney function")),
        Med("colchicine 0.6 mg", "0.6 mg", "1 tablet every day", "gout flares", "raman", started=Y + 100,
            stopped=(200, "diarrhea")),
    ),
)  # fmt: skip


# --- Lakeside Community Pharmacy patients ----------------------------------------------------------

PATRICIA_HOLLIS = DemoPatient(
    organisation="lakeside",
    entered_by="other-pharmacist",
    details={
        "first_name": "Patricia", "last_name": "Hollis", "date_of_birth": datetime.date(1956, 10, 12),
        "sex": "female", "phone": "(614) 555-0160", "email": "pat.hollis@mail.example",
        "address_line1": "418 Glenmont Avenue", "city": "Columbus", "state": "OH", "postal_code": "43214",
        "plan_name": "Buckeye Medicare Advantage (PPO)", "member_id": "BKM20451177",
        "consent_email_reminders": True,
    },
    care_team=(("brooks", "primary care", True),),
    conditions=(Dx("I10", 12 * Y), Dx("E78.5", 8 * Y), Dx("M81.0", 3 * Y)),
    allergies=(Reaction("codeine", "nausea", "mild", "intolerance", 20 * Y),),
    measurements=(
        ("height", "163 cm", Y),
        ("weight", "66.4 kg", 50),
        ("blood_pressure", "136/82", 50),
    ),
    medications=(
        Med("losartan 50 mg", "50 mg", "1 tablet every day", "blood pressure", "brooks", started=6 * Y,
            fills=Fills("losartan 50 mg tablet", 90, "90")),
        Med("atorvastatin 20 mg", "20 mg", "1 tablet at bedtime", "cholesterol", "brooks", started=8 * Y,
            fills=Fills("atorvastatin 20 mg tablet", 90, "90")),
        Med("alendronate 70 mg", "70 mg", "1 tablet every Sunday morning", "bones", "brooks", started=3 * Y),
        Med("calcium + D", "600 mg / 400 IU", "1 tablet twice a day", "bones", source=SUPPLEMENT),
        Med("vitamin D3 2000 units", "2000 IU", "1 softgel every day", "bones", source=SUPPLEMENT),
    ),
)  # fmt: skip

CURTIS_BELL = DemoPatient(
    organisation="lakeside",
    entered_by="other-pharmacist",
    details={
        "first_name": "Curtis", "last_name": "Bell", "date_of_birth": datetime.date(1960, 3, 27),
        "sex": "male", "phone": "(614) 555-0161", "mobile_phone": "(614) 555-0163",
        "address_line1": "2290 Sawmill Parkway", "city": "Columbus", "state": "OH", "postal_code": "43235",
        "plan_name": "Buckeye Medicare Advantage (PPO)", "member_id": "BKM58833402",
        "consent_sms_reminders": True,
    },
    care_team=(("brooks", "primary care", True),),
    conditions=(Dx("E11.9", 6 * Y), Dx("I10", 9 * Y), Dx("G47.33", 4 * Y), Dx("E66.9", 10 * Y)),
    allergies=(Reaction("shellfish", "hives", "moderate", "allergy", 30 * Y),),
    measurements=(
        ("height", "70 in", Y),
        ("weight", "247 lb", 200),
        ("weight", "238 lb", 25),
        ("a1c", "8.2 %", 200),
        ("a1c", "7.4 %", 25),
        ("blood_pressure", "138/86", 25),
    ),
    medications=(
        Med("metformin 1000 mg", "1000 mg", "1 tablet twice a day with meals", "diabetes", "brooks",
            started=6 * Y, fills=Fills("metformin 1000 mg tablet", 30, "60")),
        Med("Jardiance 10 mg", "10 mg", "1 tablet every morning", "diabetes", "brooks", started=200,
            fills=Fills("empagliflozin 10 mg tablet", 30, "30")),
        Med("lisinopril 10 mg", "10 mg", "1 tablet every day", "blood pressure", "brooks", started=9 * Y),
        Med("rosuvastatin 20 mg", "20 mg", "1 tablet every day", "cholesterol", "brooks", started=5 * Y),
        Med("ZzzQuil", "50 mg", "1 dose at bedtime", "sleep", source=OTC, started=Y),
        Med("glipizide 5 mg", "5 mg", "1 tablet every morning", "diabetes", "brooks", started=4 * Y,
            stopped=(200, "replaced by Jardiance")),
    ),
)  # fmt: skip

MEI_LING_CHEN = DemoPatient(
    organisation="lakeside",
    entered_by="other-pharmacist",
    details={
        "first_name": "Mei-Ling", "last_name": "Chen", "date_of_birth": datetime.date(1951, 12, 5),
        "sex": "female", "phone": "(614) 555-0164", "address_line1": "75 Riverview Drive",
        "address_line2": "Unit 3B", "city": "Columbus", "state": "OH", "postal_code": "43202",
        "preferred_language": "zh", "representative_name": "David Chen", "representative_relationship": "son",
        "representative_phone": "(614) 555-0165", "representative_email": "david.chen@mail.example",
        "plan_name": "Buckeye Rx Part D (PDP)", "member_id": "BKR11920684",
    },
    care_team=(("brooks", "primary care", True), ("liu", "cardiology", False)),
    conditions=(Dx("I48.91", 2 * Y), Dx("I10", 15 * Y), Dx("K21.9", 5 * Y)),
    no_known_allergies=True,
    measurements=(
        ("weight", "52.0 kg", 60),
        ("serum_creatinine", "1.1 mg/dL", 60),
        ("blood_pressure", "130/78", 60),
    ),
    medications=(
        Med("Eliquis 5 mg", "5 mg", "1 tablet twice a day", "blood thinner", "liu", started=2 * Y,
            fills=Fills("apixaban 5 mg tablet", 30, "60")),
        Med("diltiazem ER 180 mg", "180 mg", "1 capsule every day", "heart rate", "liu", started=2 * Y),
        Med("pantoprazole 40 mg", "40 mg", "1 tablet before breakfast", "stomach", "brooks", started=5 * Y),
        Med("dong quai", "500 mg", "1 capsule twice a day", "women's health", source=HERBAL, started=Y),
        Med("Salonpas patch", "", "1 patch on the shoulder for 8 hours when it aches", "shoulder pain",
            source=OTC),
    ),
)  # fmt: skip

DEMO_PATIENTS = [
    MARGARET_OKAFOR,
    HAROLD_JENSEN,
    DOLORES_RAMIREZ,
    WALTER_KOWALSKI,
    EVELYN_THORNTON,
    LINDA_PARK,
    GEORGE_ABERNATHY,
    BETTY_SORENSEN,
    THOMAS_WHITAKER,
    PATRICIA_HOLLIS,
    CURTIS_BELL,
    MEI_LING_CHEN,
]

# How many days late each refill comes in, cycled, for patients who refill (almost) on time.
REFILL_DELAYS = (2, 0, 3, 1, 4, 0, 2, 5, 1, 3)
FIRST_FILL = 360  # about when a regular fill history starts, in days ago
RX_NUMBER_BASE = {"riverside": 6_140_000, "lakeside": 3_870_000}
DIRECTORY_KEPT_BY = {"riverside": "demo-pharmacist", "lakeside": "other-pharmacist"}  # adds the prescribers


# --- Creating it ----------------------------------------------------------------------------------


def seed(context: DemoContext) -> None:
    prescribers = {slug: _prescribers(context, slug, entries) for slug, entries in PRESCRIBERS.items()}
    for number, demo in enumerate(DEMO_PATIENTS, start=1):
        organisation = context.organisations[demo.organisation]
        details = demo.details
        if Patient.objects.filter(
            organisation=organisation,
            first_name=details["first_name"],
            last_name=details["last_name"],
            date_of_birth=details["date_of_birth"],
        ).exists():
            continue
        _create_patient(
            context,
            demo,
            by=Actor(user=context.users[demo.entered_by], via="cli"),
            prescribers=prescribers[demo.organisation],
            rx_base=RX_NUMBER_BASE[demo.organisation] + number * 1000,
            today=organisation.today(),
        )


def _prescribers(context: DemoContext, slug: str, entries: dict[str, dict]) -> dict[str, Prescriber]:
    organisation = context.organisations[slug]
    by = Actor(user=context.users[DIRECTORY_KEPT_BY[slug]], via="cli")
    found = {}
    for key, data in entries.items():
        prescriber = Prescriber.objects.filter(organisation=organisation, npi=data["npi"]).first()
        if prescriber is None:
            prescriber = services.prescriber_create(organisation=organisation, data=data, by=by)
            context.count("prescribers")
        found[key] = prescriber
    return found


def _create_patient(
    context: DemoContext, demo: DemoPatient, *, by: Actor, prescribers, rx_base: int, today
) -> None:
    def ago(days: int | None) -> datetime.date | None:
        return None if days is None else today - datetime.timedelta(days=days)

    data = dict(demo.details)
    if demo.portal_user:
        user = context.users[demo.portal_user]
        if not Patient.objects.filter(portal_user=user).exists():
            data["portal_user"] = user
    patient = services.patient_create(organisation=context.organisations[demo.organisation], data=data, by=by)
    context.count("patients")
    if demo.no_known_allergies:
        services.patient_update(
            patient=patient, data={"no_known_allergies": True}, version=patient.version, by=by
        )

    for key, role, is_primary_care in demo.care_team:
        services.care_team_add(
            patient=patient, prescriber=prescribers[key], role=role, is_primary_care=is_primary_care, by=by
        )
        context.count("care team members")

    for dx in demo.conditions:
        condition = services.condition_add(
            patient=patient,
            data={"icd10_code": dx.code, "onset_date": ago(dx.onset), "notes": dx.notes},
            by=by,
        )
        if dx.resolved is not None:
            services.condition_resolve(
                condition=condition, on=ago(dx.resolved), version=condition.version, by=by
            )
        context.count("conditions")

    for item in demo.allergies:
        services.allergy_add(
            patient=patient,
            data={
                "substance": item.substance,
                "reaction": item.reaction,
                "severity": item.severity,
                "kind": item.kind,
                "noted_on": ago(item.noted),
            },
            by=by,
        )
        context.count("allergies")

    for kind, text, days in sorted(demo.measurements, key=lambda m: -m[2]):
        fields, unit = _measurement(kind, text)
        services.measurement_record(
            patient=patient, data={**fields, "measured_on": ago(days)}, unit=unit, by=by
        )
        context.count("measurements")

    for test in demo.gene_results:
        services.gene_result_add(
            patient=patient,
            data={"gene": test.gene, "phenotype": test.phenotype, "allele": test.allele,
                  "result": test.result, "tested_on": ago(test.tested), "lab": test.lab},
            by=by,
        )  # fmt: skip
        context.count("pharmacogenomic results")

    for habit in demo.habits:
        services.factor_add(
            patient=patient,
            data={"factor": habit.factor, "detail": habit.detail, "noted_on": ago(habit.noted)},
            by=by,
        )
        context.count("pregnancy and lifestyle factors")

    for med_number, med in enumerate(demo.medications):
        entry = services.medication_add(
            patient=patient,
            data={
                "name": med.name,
                "strength_dose": med.strength,
                "directions": med.directions,
                "indication": med.why,
                "prescriber": prescribers[med.prescriber] if med.prescriber else None,
                "source": med.source,
                "start_date": ago(med.started),
                "notes": med.notes,
            },
            by=by,
        )
        context.count("medications")
        if med.fills:
            rx_number = rx_base + med_number * 20
            for fill_number, days in enumerate(_fill_days(med, first=FIRST_FILL - med_number % 4 * 3)):
                services.fill_record(
                    patient=patient,
                    data={
                        "medication": entry,
                        "drug_name": med.fills.drug,
                        "fill_date": ago(days),
                        "days_supply": med.fills.days,
                        "quantity": Decimal(med.fills.quantity),
                        "rx_number": str(rx_number + fill_number // _fills_per_rx(med.fills)),
                    },
                    by=by,
                )
                context.count("pharmacy fills")
        if med.stopped:
            days, reason = med.stopped
            services.medication_stop(entry=entry, on=ago(days), reason=reason, version=entry.version, by=by)


def _measurement(kind: str, text: str) -> tuple[dict, str | None]:
    """("blood_pressure", "152/84") or ("weight", "190 lb") -> model fields and the unit typed."""
    if kind == "blood_pressure":
        systolic, diastolic = text.split("/")
        return {"kind": kind, "value": Decimal(systolic), "diastolic": Decimal(diastolic)}, None
    value, _, unit = text.partition(" ")
    return {"kind": kind, "value": Decimal(value)}, unit or None


def _fill_days(med: Med, *, first: int) -> list[int]:
    """Days ago of each fill, oldest first, none after the medication was stopped."""
    plan = med.fills
    if plan.on:
        days = sorted(plan.on, reverse=True)
    else:
        days, day, late = [], min(first, med.started or first), len(med.name) % len(REFILL_DELAYS)
        while day >= 0:
            days.append(day)
            day -= plan.days + REFILL_DELAYS[late % len(REFILL_DELAYS)]
            late += 1
    stopped = med.stopped[0] if med.stopped else -1
    return [day for day in days if day > stopped]


def _fills_per_rx(plan: Fills) -> int:
    return plan.fills_per_rx or max(1, 360 // plan.days)
