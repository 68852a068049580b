"""Screening engine: time per list size, index build time and memory, and independence from the
size of the knowledge base, with every rule family on (doses read from directions, kidney function,
genes, a QT risk factor, food and alcohol); and the wall time of `manage.py screen` (budget < 1.5 s).

    .venv/bin/python bench/screening.py [--repeat 200]

Prints, for lists of 5, 10, 20, 40 and 80 medications (drawn from the knowledge base with a fixed
seed): median time per screening, per pair of drugs, findings, and the growth ratio against the
5-drug list. Then builds a knowledge base twice the size (synthetic drugs and rules unrelated to the
lists) and screens the same lists again: the times should not change. Budget: a 20-medication list
under 1 ms after the index is built.
"""

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from interactions.engine import screen
from interactions.engine.knowledge import KNOWLEDGE_DIR, _load

SIZES = [5, 10, 20, 40, 80]
PATIENT = {"age": 78, "sex": "female", "weight_kg": 62, "height_cm": 160, "serum_creatinine_mg_dl": 1.4,
           "potassium_mmol_l": 3.3, "qtc_ms": 480,
           "allergies": ["penicillin", {"substance": "lisinopril", "reaction": "cough", "type": "intolerance"}],
           "conditions": ["I50.22", "N18.4", "J45.909"], "lifestyle": ["grapefruit", "alcohol", "smoking"],
           "pharmacogenomics": [{"gene": "CYP2C19", "phenotype": "poor metabolizer"},
                                {"gene": "CYP2D6", "phenotype": "ultrarapid metabolizer"},
                                {"gene": "SLCO1B1", "phenotype": "decreased function"}]}  # fmt: skip
DOSES = ["1 tablet twice daily", "2 tabs every 6 hours as needed", "once weekly", "10 mg at bedtime"]


def build(directory: Path):
    """Load and index the knowledge base: time without tracing, then peak memory in a second load
    under tracemalloc (which slows loading several times over)."""
    started = time.perf_counter()
    kb = _load(directory)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    _load(directory)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return kb, seconds, peak


def lists(kb) -> dict[int, list[str]]:
    rng = random.Random(20261126)
    names = sorted(n for n, i in kb.ingredients.items() if i.kind != "supplement" or rng.random() < 0.3)
    return {size: rng.sample(names, size) for size in SIZES}


def time_screen(kbs: list, medications: list[str], repeat: int) -> list[tuple[float, int]]:
    """Median time per screening against each knowledge base, timed in alternation so that the
    machine's drift affects them alike."""
    request = {
        "patient": PATIENT,
        "medications": [{"name": m, "dose": DOSES[i % len(DOSES)]} for i, m in enumerate(medications)],
    }
    findings = [len(screen(request, kb)["findings"]) for kb in kbs]  # also warms the caches
    samples: list[list[float]] = [[] for _ in kbs]
    for _ in range(repeat):
        for position, kb in enumerate(kbs):
            started = time.perf_counter()
            screen(request, kb)
            samples[position].append(time.perf_counter() - started)
    return [(statistics.median(times), count) for times, count in zip(samples, findings, strict=True)]


def code(number: int) -> str:
    """0 -> 'qaaa', 1 -> 'qaab': names must differ in letters (numbers read as strengths), and the
    'q' keeps them from being words such as 'cap' or 'and'."""
    letters = ""
    for _ in range(3):
        number, digit = divmod(number, 26)
        letters = chr(ord("a") + digit) + letters
    return "q" + letters


def doubled_copy(source: Path, target: Path, kb) -> None:
    """The knowledge base plus as many synthetic ingredients, classes, names and rules again,
    none of them related to a real drug."""
    shutil.copytree(source, target)
    count = len(kb.ingredients)
    with (target / "classes.yaml").open("a") as classes:
        classes.write(
            "".join(
                f"\nsynthetic-class-{i}: {{label: synthetic class {i}, sources: [fda-labels]}}"
                for i in range(50)
            )
        )
    with (target / "ingredients" / "zz-synthetic.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "rxcui", "kind", "classes"])
        writer.writerows(
            [f"synthetic drug {code(i)}", str(90_000_000 + i), "rx", f"synthetic-class-{i % 50}"]
            for i in range(count)
        )
    with (target / "names" / "zz-synthetic.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "ingredients", "kind"])
        extra_names = len(kb.names) - count  # the ingredients' own names already count as names
        writer.writerows(
            [f"synthobrand {code(i)}", f"synthetic drug {code(i % count)}", "brand"]
            for i in range(extra_names)
        )
    rules = [
        {"id": f"synthetic-{i}", "between": [f"synthetic drug {code(i)}", f"class:synthetic-class-{(i * 7) % 50}"],
         "severity": "moderate", "title": "synthetic", "effect": "synthetic", "management": "synthetic", "sources": ["fda-labels"]}
        for i in range(len(kb.interaction_rules))
    ]  # fmt: skip
    (target / "interactions" / "zz-synthetic.yaml").write_text(yaml.safe_dump(rules))


def cli_seconds(runs: int = 5) -> float:
    """Median wall time of `manage.py screen` on a 10-medication request, as a user runs it."""
    root = Path(__file__).resolve().parents[1]
    request = json.dumps({"patient": PATIENT, "medications": [{"name": n} for n in CLI_LIST]})
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "screen"], input=request, text=True, cwd=root, check=True,
            capture_output=True, env={**os.environ, "DEBUG": os.environ.get("DEBUG", "1")},
        )  # fmt: skip
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


CLI_LIST = ["Coumadin 5 mg", "ciprofloxacin 500 mg twice daily", "Tylenol ES 500 mg 2 tabs q6h prn", "Norco 10-325",
            "simvastatin 40 mg", "clopidogrel 75 mg daily", "lisinopril 10 mg", "metformin 1000 mg twice daily",
            "amitriptyline 25 mg at bedtime", "Benadryl"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    kb, seconds, peak = build(KNOWLEDGE_DIR)
    print(
        f"knowledge base {kb.version}: {len(kb.ingredients)} ingredients, {len(kb.names)} names, "
        f"{len(kb.interaction_rules)} interaction rules -> {len(kb.pair_rules)} indexed drug pairs"
    )
    print(f"index build {seconds * 1000:.0f} ms, peak memory while building {peak / 1e6:.1f} MB")
    medication_lists = lists(kb)

    with tempfile.TemporaryDirectory() as folder:
        doubled_dir = Path(folder) / "kb"
        doubled_copy(KNOWLEDGE_DIR, doubled_dir, kb)
        doubled, doubled_seconds, doubled_peak = build(doubled_dir)
    results = {size: time_screen([kb, doubled], meds, args.repeat) for size, meds in medication_lists.items()}

    base = results[SIZES[0]][0][0]
    print(f"{'meds':>5} {'pairs':>6} {'median us':>10} {'us/pair':>8} {'findings':>9} {'x 5 meds':>9}")
    for size, ((seconds, findings), _) in results.items():
        pairs = size * (size - 1) // 2
        print(
            f"{size:>5} {pairs:>6} {seconds * 1e6:>10.1f} {seconds * 1e6 / pairs:>8.2f} {findings:>9} {seconds / base:>9.2f}"
        )
    print(f"20 medications: {results[20][0][0] * 1000:.3f} ms (budget < 1 ms)")
    print(f"manage.py screen, 10 medications: {cli_seconds():.2f} s wall time (budget < 1.5 s)")

    print(
        f"\ndoubled knowledge base: {len(doubled.ingredients)} ingredients, {len(doubled.names)} names, "
        f"{len(doubled.interaction_rules)} rules; build {doubled_seconds * 1000:.0f} ms, peak {doubled_peak / 1e6:.1f} MB"
    )
    print(f"{'meds':>5} {'median us':>10} {'x original KB':>14} {'same findings':>14}")
    for size, ((seconds, findings), (doubled_time, doubled_findings)) in results.items():
        print(
            f"{size:>5} {doubled_time * 1e6:>10.1f} {doubled_time / seconds:>14.2f} {findings == doubled_findings!s:>14}"
        )


if __name__ == "__main__":
    main()
