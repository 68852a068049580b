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
