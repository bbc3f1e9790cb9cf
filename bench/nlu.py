"""Intent classification per language, by 5-fold cross-validation.

Trains the project's own NLU pipeline (config.yml, without the language
detector, which adds no features) with Rasa's trainer on folds of
``data/nlu/<language>/*.yml`` and prints, in one run:

1. 5-fold cross-validation with one model for all languages, as in
   production (each language's test fold held out, every other example in
   training): macro-F1 and accuracy per language, F1 per intent, the most
   frequent confusions per language;
2. the same folds for other featurisations and classifiers (``--variants``),
   side by side, so the pipeline's choice rests on a measurement;
3. per language, 5-fold cross-validation of a model trained on that
   language's examples alone;
4. per language, a model trained on every other language with all of that
   language's examples held out (``--unseen``): what a new language gets
   before its own examples are written (shared scripts, loanwords, names).

5. with ``--fractions``, a learning curve: the same folds, each training fold
   cut to a fraction of its examples of every intent in every language.

Variants: ``project`` (config.yml), ``word`` (no character n-grams),
``counts`` (without the sentence encoder's vector: rasa_ext/sentence_encoder.py),
``char<low><high>`` (another character n-gram range, e.g. ``char14``).

Usage: ``python bench/nlu.py [--folds 5] [--variants project,word] [--no-per-language]
[--unseen] [--fractions 0.25,0.5]`` (``--variants ''`` skips the full folds).
With about 18,000 examples one fold trains in 2-6 minutes on two cores: the
project variant alone takes 15-30 minutes, a full run (about 85 models) one to
two hours, and ``--unseen`` adds one model per language (about an hour).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from catalogue.nlu_check import NLU, examples, plain

SKIP = {"rasa_ext.language.LanguageDetection", "FallbackClassifier"}

Example = tuple[str, str, str]  # (language, intent, example as written, annotations kept)


def load_examples() -> list[Example]:
    """Every intent example under data/nlu/<language>/, with its language."""
    return [
        (directory.name, intent, text)
        for directory in sorted(p for p in NLU.iterdir() if p.is_dir())
        for intent, texts in examples(directory, annotated=True).items()
        for text in texts
    ]


def shared_files() -> list[Path]:
    """Lookup tables and synonyms (data/nlu/*.yml), used by every model."""
    return sorted(NLU.glob("*.yml"))


def pipeline_variant(name: str) -> dict[str, Any]:
    """The project's config, or a variant of its featurisation."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] not in SKIP]
    config.pop("policies", None)
    if name == "word":  # word counts only: no character n-grams
        config["pipeline"] = [c for c in config["pipeline"] if c.get("analyzer") != "char_wb"]
    elif name == "counts":  # the n-gram counts without the sentence encoder's vector
        encoder = "rasa_ext.sentence_encoder.SentenceEncoderFeaturizer"
        config["pipeline"] = [c for c in config["pipeline"] if c["name"] != encoder]
    elif name.startswith("char"):  # other character n-gram ranges: char14, char25, char36
        low, high = int(name[4]), int(name[5])
        for component in config["pipeline"]:
            if component.get("analyzer") == "char_wb":
                component["min_ngram"], component["max_ngram"] = low, high
    elif name != "project":
        raise SystemExit(f"unknown variant {name}")
    return config


def write_training_data(examples: list[Example], directory: Path) -> None:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for _, intent, text in examples:
        by_intent[intent].append(text)
    blocks = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
        for intent, texts in sorted(by_intent.items())
    ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "train.yml").write_text(
        yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    for path in shared_files():
        (directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")


def train_and_predict(
    config: dict[str, Any], train: list[Example], test: list[Example], work: Path
) -> list[str]:
    """Train Rasa's NLU on ``train`` and return the predicted intent of each ``test`` text."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    data = work / "data"
    write_training_data(train, data)
    config_path = work / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):  # Rasa prints each model's path
        model = train_nlu(str(config_path), str(data), str(work / "models"))
    if model is None:
        raise SystemExit("training failed")
    agent = Agent.load(model)

    async def parse_all() -> list[str]:
        results = []
        for _, _, text in test:
            parsed = await agent.parse_message(plain(text))
            results.append(str((parsed.get("intent") or {}).get("name")))
        return results

    return asyncio.run(parse_all())


def strata(examples: list[Example], seed: int) -> list[list[int]]:
    """Indices of each (language, intent), in a fixed order, each shuffled by ``seed``."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, (language, intent, _) in enumerate(examples):
        groups[(language, intent)].append(index)
    rng = random.Random(seed)
    for key in sorted(groups):
        rng.shuffle(groups[key])
    return [groups[key] for key in sorted(groups)]


def folds(examples: list[Example], k: int, seed: int = 0) -> list[list[int]]:
    """Indices of ``k`` folds, stratified by (language, intent)."""
    result: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for members in strata(examples, seed):
        for position, index in enumerate(members):
            result[(position + offset) % k].append(index)
        offset += len(members)
    return result


def f1_scores(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """F1 per true label, from (true, predicted) pairs."""
    labels = {t for t, _ in pairs}
    scores = {}
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        fp = sum(1 for t, p in pairs if t != label and p == label)
        fn = sum(1 for t, p in pairs if t == label and p != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def macro(pairs: list[tuple[str, str]]) -> float:
    scores = f1_scores(pairs)
    return sum(scores.values()) / len(scores) if scores else 0.0


def subsample(examples: list[Example], fraction: float, seed: int = 0) -> list[Example]:
    """``fraction`` of the examples of every (language, intent), at least one of each."""
    return [
        examples[index]
        for members in strata(examples, seed)
        for index in members[: max(1, round(len(members) * fraction))]
    ]


def cross_validate(
    examples: list[Example], config: dict[str, Any], k: int, fraction: float = 1.0
) -> dict[str, list[tuple[str, str]]]:
    """(true, predicted) pairs per language over k folds, trained on ``fraction`` of each."""
    per_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for number, test_indices in enumerate(folds(examples, k), start=1):
        held = set(test_indices)
        train = [e for i, e in enumerate(examples) if i not in held]
        if fraction < 1.0:
            train = subsample(train, fraction)
        test = [examples[i] for i in test_indices]
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            predicted = train_and_predict(config, train, test, Path(work))
        for (language, intent, _), guess in zip(test, predicted, strict=True):
            per_language[language].append((intent, guess))
        print(f"  fold {number}/{k}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return per_language


def per_language(examples: list[Example], config: dict[str, Any], k: int) -> dict[str, float]:
    """Macro-F1 per language of k-fold models trained on that language alone."""
    scores = {}
    for language in sorted({e[0] for e in examples}):
        own = [e for e in examples if e[0] == language]
        scores[language] = macro(cross_validate(own, config, k)[language])
        print(f"  {language} alone: {scores[language]:.3f}", file=sys.stderr)
    return scores


def unseen_language(examples: list[Example], config: dict[str, Any]) -> dict[str, float]:
    """Macro-F1 per language of a model trained on every other language only."""
    scores = {}
    for language in sorted({e[0] for e in examples}):
        train = [e for e in examples if e[0] != language]
        test = [e for e in examples if e[0] == language]
        with tempfile.TemporaryDirectory() as work:
            predicted = train_and_predict(config, train, test, Path(work))
        scores[language] = macro([(e[1], p) for e, p in zip(test, predicted, strict=True)])
        print(f"  {language} unseen: {scores[language]:.3f}", file=sys.stderr)
    return scores


def print_cv(
    name: str, per_language: dict[str, list[tuple[str, str]]], counts: Counter[str]
) -> None:
    print(f"\n## 5-fold cross-validation, one model for all languages ({name})")
    print(
        f"{'lang':5} {'examples':>8} {'intents':>7} {'macro-F1':>8} {'accuracy':>8}  top confusions"
    )
    everything: list[tuple[str, str]] = []
    for language, pairs in sorted(per_language.items()):
        everything += pairs
        accuracy = sum(t == p for t, p in pairs) / len(pairs)
        confusions = Counter((t, p) for t, p in pairs if t != p).most_common(3)
        shown = ", ".join(f"{t}→{p} ({n})" for (t, p), n in confusions)
        intents = len({t for t, _ in pairs})
        row = f"{language:5} {counts[language]:8} {intents:7} {macro(pairs):8.3f} {accuracy:8.3f}"
        print(f"{row}  {shown}")
    print(f"{'all':5} {sum(counts.values()):8} {'':7} {macro(everything):8.3f}")
    print("\nF1 per intent (all languages):")
    scores = f1_scores(everything)
    for intent in sorted(scores, key=scores.__getitem__):
        support = sum(1 for t, _ in everything if t == intent)
        print(f"  {intent:22} {scores[intent]:.3f}  (n={support})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--variants", default="project,word,char14")
    parser.add_argument("--no-per-language", action="store_true")
    parser.add_argument("--unseen", action="store_true", help="leave-one-language-out models")
    parser.add_argument("--fractions", default="", help="learning curve, e.g. 0.25,0.5")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import structlog  # Rasa logs every parse through structlog, on stdout

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    examples = load_examples()
    counts = Counter(e[0] for e in examples)
    intents = len({e[1] for e in examples})
    print(f"{len(examples)} examples, {len(counts)} languages, {intents} intents")
    summary: dict[str, dict[str, float]] = {}
    for variant in filter(None, args.variants.split(",")):  # --variants '': none
        print(f"training {args.folds} folds ({variant})", file=sys.stderr)
        pairs = cross_validate(examples, pipeline_variant(variant), args.folds)
        summary[variant] = {lang: macro(p) for lang, p in pairs.items()}
        if variant == "project":
            print_cv(variant, pairs, counts)
    if len(summary) > 1:
        names = list(summary)
        print("\n## Featurisation and classifier, side by side (macro-F1, same folds)")
        print("lang  " + "  ".join(f"{n:>8}" for n in names))
        for language in sorted(counts):
            row = "  ".join(f"{summary[n].get(language, 0.0):8.3f}" for n in names)
            print(f"{language:5} {row}")
        means = "  ".join(f"{sum(v.values()) / len(v):8.3f}" for v in summary.values())
        print(f"{'mean':5} {means}")
    if args.fractions:
        print("\n## Learning curve: each training fold cut to a fraction (macro-F1, same folds)")
        for fraction in map(float, args.fractions.split(",")):
            print(f"training {args.folds} folds on {fraction:g} of each", file=sys.stderr)
            pairs = cross_validate(examples, pipeline_variant("project"), args.folds, fraction)
            scores = [macro(p) for p in pairs.values()]
            mean = sum(scores) / len(scores)
            print(f"{fraction:5g}  mean {mean:.3f}  (min {min(scores):.3f})")
    if not args.no_per_language:
        print("\n## Per language: trained on that language alone, and with all languages")
        alone = per_language(examples, pipeline_variant("project"), args.folds)
        together = summary.get("project", {})
        print("lang   alone  all")
        for language, score in alone.items():
            print(f"{language:5} {score:6.3f}  {together.get(language, float('nan')):.3f}")
    if args.unseen:
        print("\n## Per language: its own examples held out entirely (trained on the others)")
        unseen = unseen_language(examples, pipeline_variant("project"))
        together = summary.get("project", {})
        print("lang   unseen  all")
        for language, score in unseen.items():
            print(f"{language:5} {score:7.3f}  {together.get(language, float('nan')):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
