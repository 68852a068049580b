"""The shipped dictionary: common entries resolve to every ingredient of the product, salts stay apart,
and the most dispensed U.S. drugs (knowledge/top300.csv) are all known."""

import csv
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from interactions.engine import load_knowledge_base
from interactions.engine.knowledge import KNOWLEDGE_DIR
from interactions.engine.resolve import resolve_name
from tests.interactions.conftest import FIXTURE_KB

APAP, DXM, GG, PE, PSE = (
    "acetaminophen",
    "dextromethorphan",
    "guaifenesin",
    "phenylephrine",
    "pseudoephedrine",
)
NPH, REGULAR = "insulin isophane, human", "insulin regular, human"


@pytest.fixture(scope="module")
def shipped():
    return load_knowledge_base(KNOWLEDGE_DIR)


def ingredients(kb, text):
    found = resolve_name(kb, text)
    assert not getattr(found, "partial", False), f"{text!r} matched only {found.matched!r}"
    return set(found.ingredients)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # insulin: unspecified, premixed
        ("insulin", {"insulin"}),
        ("Humalog Mix 75/25", {"insulin lispro", "insulin lispro protamine, human"}),
        ("Humalog Mix 50/50 KwikPen", {"insulin lispro", "insulin lispro protamine, human"}),
        ("NovoLog Mix 70/30", {"insulin aspart", "insulin aspart protamine, human"}),
        ("Humulin 70/30", {NPH, REGULAR}),
        ("Novolin 70/30", {NPH, REGULAR}),
        ("Ryzodeg 70/30", {"insulin degludec", "insulin aspart"}),
        ("Soliqua 100/33", {"insulin glargine", "lixisenatide"}),
        # contraception: rings, implants, IUDs, patches
        ("NuvaRing", {"etonogestrel", "ethinyl estradiol"}),
        ("EluRyng", {"etonogestrel", "ethinyl estradiol"}),
        ("Haloette", {"etonogestrel", "ethinyl estradiol"}),
        ("Annovera", {"segesterone acetate", "ethinyl estradiol"}),
        ("Nexplanon", {"etonogestrel"}),
        ("Implanon", {"etonogestrel"}),
        ("Mirena", {"levonorgestrel"}),
        ("Kyleena", {"levonorgestrel"}),
        ("Liletta", {"levonorgestrel"}),
        ("Skyla", {"levonorgestrel"}),
        ("Xulane", {"norelgestromin", "ethinyl estradiol"}),
        ("Twirla", {"levonorgestrel", "ethinyl estradiol"}),
        ("Apri", {"desogestrel", "ethinyl estradiol"}),
        ("Opill", {"norgestrel"}),
        # phosphate binders
        ("PhosLo 667 mg", {"calcium acetate"}),
        ("Phoslyra", {"calcium acetate"}),
        ("Calphron", {"calcium acetate"}),
        ("Renvela 800 mg", {"sevelamer"}),
        ("Renagel", {"sevelamer"}),
        ("sevelamer carbonate", {"sevelamer"}),
        ("sevelamer hydrochloride", {"sevelamer"}),
        ("Fosrenol", {"lanthanum carbonate"}),
        ("Velphoro", {"sucroferric oxyhydroxide"}),
        ("Auryxia", {"ferric citrate"}),
        # salts are different ingredients
        ("calcium acetate", {"calcium acetate"}),
        ("calcium carbonate", {"calcium carbonate"}),
        ("calcium citrate", {"calcium citrate"}),
        ("Tums", {"calcium carbonate"}),
        ("potassium citrate", {"potassium citrate"}),
        ("Urocit-K", {"potassium citrate"}),
        ("K citrate", {"potassium citrate"}),
        ("potassium chloride", {"potassium chloride"}),
        ("K-Tab", {"potassium chloride"}),
        ("Klor-Con M20", {"potassium chloride"}),
        ("magnesium oxide", {"magnesium oxide"}),
        ("magnesium citrate", {"magnesium citrate"}),
        ("ferrous sulfate", {"ferrous sulfate"}),
        ("ferrous gluconate", {"ferrous gluconate"}),
        ("ferrous fumarate", {"ferrous fumarate"}),
        ("iron sucrose", {"iron sucrose"}),
        # multivitamins with minerals are not plain "multivitamin"
        ("Centrum", {"multivitamin with minerals"}),
        ("Centrum Silver", {"multivitamin with minerals"}),
        ("One A Day", {"multivitamin with minerals"}),
        ("multivitamin with minerals", {"multivitamin with minerals"}),
        ("MVI with minerals", {"multivitamin with minerals"}),
        ("MVI", {"multivitamin with minerals"}),
        ("prenatal vitamins", {"multivitamin with minerals"}),
        ("PreserVision AREDS 2", {"multivitamin with minerals"}),
        ("Ocuvite", {"multivitamin with minerals"}),
        ("Rena-Vite", {"multivitamin"}),
        # cold, flu, sleep and pain brands with all their ingredients
        ("DayQuil", {APAP, DXM, PE}),
        ("DayQuil Severe Cold & Flu", {APAP, DXM, GG, PE}),
        ("NyQuil", {APAP, DXM, "doxylamine"}),
        ("NyQuil Severe Cold & Flu", {APAP, DXM, "doxylamine", PE}),
        ("Vicks NyQuil HBP Cold & Flu", {APAP, DXM, "doxylamine"}),
        ("Theraflu Daytime Severe Cold & Cough", {APAP, DXM, PE}),
        ("Theraflu Nighttime Severe Cold & Cough", {APAP, "diphenhydramine", PE}),
        ("Theraflu Flu & Sore Throat", {APAP, "pheniramine", PE}),
        ("Mucinex", {GG}),
        ("Mucinex DM", {GG, DXM}),
        ("Mucinex D", {GG, PSE}),
        ("Mucinex Fast-Max Severe Congestion & Cough", {DXM, GG, PE}),
        ("Robitussin DM", {GG, DXM}),
        ("Robitussin CF", {DXM, GG, PE}),
        ("Alka-Seltzer Plus Cold", {"aspirin", "chlorpheniramine", PE}),
        ("Alka-Seltzer Plus Severe Cold & Flu", {APAP, "chlorpheniramine", DXM, PE}),
        ("Tylenol Cold + Flu Severe", {APAP, DXM, GG, PE}),
        ("Tylenol PM", {APAP, "diphenhydramine"}),
        ("Tylenol Sinus", {APAP, PE}),
        ("Advil PM", {"ibuprofen", "diphenhydramine"}),
        ("Advil Cold & Sinus", {"ibuprofen", PSE}),
        ("Advil Dual Action", {"ibuprofen", APAP}),
        ("Aleve PM", {"naproxen", "diphenhydramine"}),
        ("Aleve-D", {"naproxen", PSE}),
        ("Motrin PM", {"ibuprofen", "diphenhydramine"}),
        ("Excedrin Extra Strength", {APAP, "aspirin", "caffeine"}),
        ("Excedrin Migraine", {APAP, "aspirin", "caffeine"}),
        ("Excedrin PM Triple Action", {APAP, "aspirin", "diphenhydramine"}),
        ("Goody's Extra Strength", {APAP, "aspirin", "caffeine"}),
        ("BC Powder", {"aspirin", "caffeine"}),
        ("ZzzQuil", {"diphenhydramine"}),
        ("Unisom SleepTabs", {"doxylamine"}),
        ("Unisom SleepGels", {"diphenhydramine"}),
        ("Sominex", {"diphenhydramine"}),
        ("Simply Sleep", {"diphenhydramine"}),
        ("Coricidin HBP Cold & Flu", {APAP, "chlorpheniramine"}),
        ("Coricidin HBP Chest Congestion & Cough", {DXM, GG}),
        ("Sudafed", {PSE}),
        ("Sudafed PE", {PE}),
        ("Claritin-D", {"loratadine", PSE}),
        ("Zyrtec-D", {"cetirizine", PSE}),
        ("Allegra-D", {"fexofenadine", PSE}),
        ("Benadryl Allergy Plus Congestion", {"diphenhydramine", PE}),
        ("Midol Complete", {APAP, "caffeine", "pyrilamine"}),
        ("Vicks VapoRub", {"camphor", "eucalyptus oil", "menthol"}),
        ("Delsym", {DXM}),
        ("Pepto-Bismol", {"bismuth subsalicylate"}),
        ("Percogesic", {APAP, "diphenhydramine"}),
        # compound products and combination analgesics
        ("Fioricet", {"butalbital", APAP, "caffeine"}),
        ("Fiorinal", {"butalbital", "aspirin", "caffeine"}),
        ("Fioricet with Codeine", {"butalbital", APAP, "caffeine", "codeine"}),
        ("Soma Compound", {"carisoprodol", "aspirin"}),
        ("Soma Compound with Codeine", {"carisoprodol", "aspirin", "codeine"}),
        ("Percocet 5/325", {"oxycodone", APAP}),
        ("Endocet", {"oxycodone", APAP}),
        ("Norco 10-325", {"hydrocodone", APAP}),
        ("Vicodin", {"hydrocodone", APAP}),
        ("Lortab", {"hydrocodone", APAP}),
        ("Tylenol #3", {APAP, "codeine"}),
        ("Tylenol #4", {APAP, "codeine"}),
        ("Ultracet", {"tramadol", APAP}),
        ("Treximet", {"sumatriptan", "naproxen"}),
        ("Norgesic Forte", {"orphenadrine", "aspirin", "caffeine"}),
        # brands of ingredients added for the top 300
        ("Xalatan", {"latanoprost"}),
        ("Cosopt", {"dorzolamide", "timolol"}),
        ("Tessalon Perles", {"benzonatate"}),
        ("Lotrisone", {"clotrimazole", "betamethasone"}),
        ("Lovaza", {"omega-3-acid ethyl esters"}),
        ("Vascepa", {"icosapent ethyl"}),
    ],
)
def test_common_entries_resolve_to_all_their_ingredients(shipped, typed, expected):
    assert ingredients(shipped, typed) == expected


def test_salts_are_their_own_ingredients_with_their_own_classes(shipped):
    classes = {name: set(shipped.ingredients[name].classes) for name in shipped.ingredients}
    assert "phosphate-binder" in classes["calcium acetate"]
    assert "phosphate-binder" not in classes["calcium carbonate"]
    assert {"potassium-supplement", "urinary-alkalinizer"} <= classes["potassium citrate"]
    assert "urinary-alkalinizer" not in classes["potassium chloride"]
    assert "iron-supplement" in classes["ferric citrate"]
    assert "iron-supplement" not in classes["iron sucrose"]  # intravenous: does not bind in the gut
    for salts in (
        ["calcium acetate", "calcium carbonate", "calcium citrate"],
        ["potassium citrate", "potassium chloride"],
        ["magnesium oxide", "magnesium citrate"],
        ["ferrous sulfate", "ferrous gluconate", "ferrous fumarate"],
    ):
        assert len({ingredients(shipped, salt).pop() for salt in salts}) == len(salts)


def test_a_multivitamin_with_minerals_is_a_vitamin_product_of_its_own(shipped):
    mvm = shipped.ingredients["multivitamin with minerals"]
    assert "vitamin-supplement" in mvm.classes
    assert ingredients(shipped, "Centrum Silver") != {"multivitamin"}


def top_drugs():
    with (KNOWLEDGE_DIR / "top300.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_top_300_ingredient_is_in_the_knowledge_base(shipped):
    rows = top_drugs()
    missing = [row["ingredient"] for row in rows if row["ingredient"] not in shipped.ingredients]
    assert missing == []
    assert len(rows) == 300
    assert [int(row["rank"]) for row in rows] == list(range(1, 301))
    assert len({row["ingredient"] for row in rows}) == len(rows)  # each ingredient once
    assert {row["source"] for row in rows} <= shipped.sources.keys()


def test_validate_knowledge_fails_on_a_top_300_drug_missing_from_the_dictionary(tmp_path):
    directory = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, directory)
    known = next(iter(load_knowledge_base(FIXTURE_KB).ingredients))
    source = next(iter(load_knowledge_base(FIXTURE_KB).sources))
    (directory / "top300.csv").write_text(f"rank,ingredient,source\n1,{known},{source}\n")
    out = StringIO()
    call_command("validate_knowledge", directory=str(directory), stdout=out)
    assert "1 of 1 in the dictionary" in out.getvalue()

    (directory / "top300.csv").write_text(
        f"rank,ingredient,source\n1,{known},{source}\n2,zzzfakemab,{source}\n"
    )
    with pytest.raises(CommandError, match="zzzfakemab"):
        call_command("validate_knowledge", directory=str(directory), stdout=StringIO())
