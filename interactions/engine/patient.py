"""Patient facts derived for screening."""


def crcl_cockcroft_gault(*, age: float, sex: str, weight_kg: float, serum_creatinine_mg_dl: float) -> float:
    """Creatinine clearance in mL/min: (140 - age) x weight / (72 x SCr), x 0.85 for women.
    Cockcroft DW, Gault MH. Nephron 1976;16:31-41."""
    clearance = (140 - age) * weight_kg / (72 * serum_creatinine_mg_dl)
    if sex == "female":
        clearance *= 0.85
    return round(clearance, 1)
