"""Patient facts derived for screening."""

import datetime


def age_on(birth: datetime.date, day: datetime.date) -> int:
    """Whole years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def crcl_cockcroft_gault(*, age: float, sex: str, weight_kg: float, serum_creatinine_mg_dl: float) -> float:
    """Creatinine clearance in mL/min: (140 - age) x weight / (72 x SCr), x 0.85 for women.
    Cockcroft DW, Gault MH. Nephron 1976;16:31-41."""
    clearance = (140 - age) * weight_kg / (72 * serum_creatinine_mg_dl)
    if sex == "female":
        clearance *= 0.85
    return round(clearance, 1)


def egfr_ckd_epi_2021(*, age: float, sex: str, serum_creatinine_mg_dl: float) -> float:
    """Estimated GFR in mL/min/1.73 m2 from serum creatinine, without a race term:
    142 x min(SCr/k, 1)^a x max(SCr/k, 1)^-1.200 x 0.9938^age (x 1.012 for women), with k = 0.7 and
    a = -0.241 for women, k = 0.9 and a = -0.302 for men.
    Inker LA et al. New creatinine- and cystatin C-based equations to estimate GFR without race.
    N Engl J Med 2021;385:1737-49; recommended by the NKF-ASN Task Force (Am J Kidney Dis 2022;79:268-88)."""
    female = sex == "female"
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = serum_creatinine_mg_dl / kappa
    egfr = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age
    if female:
        egfr *= 1.012
    return round(egfr)


def gfr_category(egfr: float) -> str:
    """KDIGO 2012 GFR category (G1 to G5) of an eGFR in mL/min/1.73 m2.
    KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of CKD, Kidney Int Suppl 2013;3:1-150."""
    for floor, category in ((90, "G1"), (60, "G2"), (45, "G3a"), (30, "G3b"), (15, "G4")):
        if egfr >= floor:
            return category
    return "G5"


def ideal_body_weight(*, sex: str, height_cm: float) -> float:
    """Devine: 50 kg (men) or 45.5 kg (women) + 2.3 kg per inch over 5 feet.
    Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-5."""
    inches_over_five_feet = max(height_cm / 2.54 - 60, 0)
    return round((50 if sex == "male" else 45.5) + 2.3 * inches_over_five_feet, 1)


def cockcroft_gault_weight(*, sex: str, weight_kg: float, height_cm: float | None, rule_weight: str = ""):
    """(kg, words) for Cockcroft-Gault. A label that says which weight (the DOACs: actual) is followed.
    Otherwise, with a height: actual weight when below ideal, ideal weight up to 120% of it, and adjusted
    weight (ideal + 0.4 x the excess) above, as in Winter's Basic Clinical Pharmacokinetics and Brown DL
    et al., Ann Pharmacother 2013;47:1039-44. Without a height: actual weight, said so."""
    if rule_weight == "actual" or height_cm is None:
        why = "as the label says" if rule_weight == "actual" else "height not recorded"
        return weight_kg, f"actual body weight {weight_kg:g} kg ({why})"
    ideal = ideal_body_weight(sex=sex, height_cm=height_cm)
    if rule_weight == "ideal" or (not rule_weight and ideal <= weight_kg <= 1.2 * ideal):
        return min(ideal, weight_kg), f"ideal body weight {min(ideal, weight_kg):g} kg"
    if rule_weight == "adjusted" or weight_kg > 1.2 * ideal:
        adjusted = round(ideal + 0.4 * (weight_kg - ideal), 1) if weight_kg > ideal else weight_kg
        return adjusted, f"adjusted body weight {adjusted:g} kg (actual {weight_kg:g} kg, ideal {ideal:g} kg)"
    return weight_kg, f"actual body weight {weight_kg:g} kg (below ideal {ideal:g} kg)"


# ICD-10-CM chronic kidney disease stages and the eGFR band each stands for (KDIGO 2012 G categories):
# the band's upper bound, so that a threshold is applied only when the whole band is below it.
CKD_STAGES = {
    "N181": (90, None, "stage 1 (eGFR 90 or more)"),
    "N182": (60, 89, "stage 2 (eGFR 60 to 89)"),
    "N1830": (30, 59, "stage 3 (eGFR 30 to 59)"),
    "N183": (30, 59, "stage 3 (eGFR 30 to 59)"),
    "N1831": (45, 59, "stage 3a (eGFR 45 to 59)"),
    "N1832": (30, 44, "stage 3b (eGFR 30 to 44)"),
    "N184": (15, 29, "stage 4 (eGFR 15 to 29)"),
    "N185": (0, 14, "stage 5 (eGFR below 15)"),
    "N186": (0, 14, "stage 5, end-stage (dialysis)"),
    "Z992": (0, 14, "on dialysis"),
}


def ckd_stage(conditions: list[str]) -> tuple[str, tuple] | None:
    """The most advanced CKD stage among ICD-10-CM codes (without dots), as (code, band)."""
    staged = [(code, CKD_STAGES[code]) for code in conditions if code in CKD_STAGES]
    return min(staged, key=lambda item: item[1][0]) if staged else None
