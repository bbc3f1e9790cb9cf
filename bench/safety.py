"""Danger detection per language: recall on danger, false alarms on ordinary questions.

Parses every message of the project's own test set (``bench/data/safety.yml``,
written for measuring only) with the trained model, whose pipeline ends with
the safety lexicon (rasa_ext.safety). A message is flagged when its intent is
one of the four safety intents. Side by side, in one run, it prints the same
figures for the classifier alone (its own top intent, before the lexicon), for
the danger model alone (rasa_ext.danger's probability against config.yml's
danger_threshold) and for the lexicon alone, and how often the child is at least asked "are you safe
right now?" (flagged, or marked for the check question): a danger message
that is asked is not caught, but the child has a button to say so.

Usage: ``make bench-safety`` (or ``LANTERN_MODEL=models/… python bench/safety.py [--show]``);
``--show`` also lists every miss and false alarm with the classifier's intent and confidence
and the danger model's probability;
``--data PATH`` (repeatable) measures other sets of the same shape (the held-out sets
``bench/data/safety-holdout*.yml``, nineteen of them) and ``--all`` every set, with the model
loaded once and a line per set at the end (``make bench-safety``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalogue.safety import CATEGORIES, default_lexicon

DATA = ROOT / "bench" / "data" / "safety.yml"


def danger_threshold() -> float:
    """SafetyCheck's danger_threshold in config.yml, for the danger model alone."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    check = next(c for c in config["pipeline"] if c["name"].endswith("SafetyCheck"))
    return float(check.get("danger_threshold", 0.5))


def classifier_intent(parse: dict[str, Any]) -> str | None:
    """The classifier's own top intent: the ranking is left as the classifier made it."""
    ranking = parse.get("intent_ranking") or []
    return ranking[0]["name"] if ranking else (parse.get("intent") or {}).get("name")


def set_name(path: Path) -> str:
    """A set's name in bench/README.md: ``dev``, or the held-out set's number."""
    if path.stem == DATA.stem:
        return "dev"
    number = path.stem.removeprefix("safety-holdout").lstrip("-")
    return number or "1"  # the first held-out set has no number


def every_set() -> list[Path]:
    """The development set, then the held-out sets in the order they were written."""
    held_out = sorted(DATA.parent.glob("safety-holdout*.yml"), key=lambda p: int(set_name(p)))
    return [DATA, *held_out]


async def run(model: str, show: bool = False, paths: list[Path] | None = None) -> None:
    """Measure each set in turn with one loaded model, then a line per set."""
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    summary = [(path, await measure(agent, path, show)) for path in paths or [DATA]]
    if len(summary) > 1:
        print("\nEvery set, all languages, recall / false alarms (%)\n")
        print(
            "| set | pipeline | classifier alone | danger model alone | lexicon alone "
            "| flagged or asked |"
        )
        print("|---|---|---|---|---|---|")
        for path, cells in summary:
            print(f"| {set_name(path)} | " + " | ".join(cells) + " |")


async def measure(agent: Any, data_path: Path, show: bool) -> list[str]:
    """Print one set's figures per language; return its recall / false alarms per check."""
    lexicon = default_lexicon()
    data = yaml.safe_load(data_path.read_text(encoding="utf-8"))
    rows = []
    threshold = danger_threshold()
    totals = {k: [0, 0] for k in ("pipeline", "classifier", "danger model", "lexicon", "or asked")}
    false_totals = {k: [0, 0] for k in totals}
    for language, sets in data.items():
        caught = {k: 0 for k in totals}
        alarms = {k: 0 for k in totals}
        for kind in ("danger", "ordinary"):
            for text in sets[kind]:
                parse = await agent.parse_message(text)
                flags = {
                    "pipeline": (parse.get("intent") or {}).get("name") in CATEGORIES,
                    "classifier": classifier_intent(parse) in CATEGORIES,
                    "danger model": float(parse.get("danger") or 0) >= threshold,
                    "lexicon": lexicon.match(text) is not None,
                }
                flags["or asked"] = (
                    flags["pipeline"] or (parse.get("safety") or {}).get("source") == "check"
                )
                if show and flags["pipeline"] != (kind == "danger"):
                    top = (parse.get("intent_ranking") or [{}])[0]
                    print(
                        f"{'MISS' if kind == 'danger' else 'ALARM'} {language} "
                        f"{top.get('name')} {top.get('confidence', 0):.2f} "
                        f"danger {float(parse.get('danger') or 0):.2f} | {text}"
                    )
                for name, flagged in flags.items():
                    if kind == "danger":
                        caught[name] += flagged
                    else:
                        alarms[name] += flagged
        n_danger, n_ordinary = len(sets["danger"]), len(sets["ordinary"])
        for name in totals:
            totals[name][0] += caught[name]
            totals[name][1] += n_danger
            false_totals[name][0] += alarms[name]
            false_totals[name][1] += n_ordinary
        rows.append((language, n_danger, n_ordinary, caught, alarms))

    print(f"\nSafety on {data_path} (recall on danger / false alarms on ordinary)\n")
    print(
        "| lang | danger | ordinary | recall | false alarms | classifier alone "
        "| danger model alone | lexicon alone | flagged or asked |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for language, n_danger, n_ordinary, caught, alarms in rows:
        print(
            f"| {language} | {n_danger} | {n_ordinary} "
            f"| {100 * caught['pipeline'] / n_danger:.0f}% "
            f"| {100 * alarms['pipeline'] / n_ordinary:.0f}% "
            f"| {100 * caught['classifier'] / n_danger:.0f}% / "
            f"{100 * alarms['classifier'] / n_ordinary:.0f}% "
            f"| {100 * caught['danger model'] / n_danger:.0f}% / "
            f"{100 * alarms['danger model'] / n_ordinary:.0f}% "
            f"| {100 * caught['lexicon'] / n_danger:.0f}% / "
            f"{100 * alarms['lexicon'] / n_ordinary:.0f}% "
            f"| {100 * caught['or asked'] / n_danger:.0f}% / "
            f"{100 * alarms['or asked'] / n_ordinary:.0f}% |"
        )
    cells = []
    for name in totals:
        recall = 100 * totals[name][0] / totals[name][1]
        false = 100 * false_totals[name][0] / false_totals[name][1]
        print(f"{name:10s} all languages: recall {recall:.1f}%, false alarms {false:.1f}%")
        cells.append(f"{recall:.1f} / {false:.1f}")
    return cells


def main() -> int:
    model = os.environ.get("LANTERN_MODEL")
    if not model or not Path(model).exists():
        print("LANTERN_MODEL must name a trained model (run `make bench-safety`)")
        return 2
    args = sys.argv[1:]
    # Rasa logs every parse, text included, at debug level: the test sets are
    # for measuring, so their texts stay out of the output unless --show asks
    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if "--all" in args:
        paths = every_set()
    else:
        paths = [Path(args[i + 1]) for i, arg in enumerate(args) if arg == "--data"] or [DATA]
    asyncio.run(run(model, show="--show" in args, paths=paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
