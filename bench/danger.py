"""The danger model's settings by measurement: refitted offline, judged as the pipeline judges.

rasa_ext.danger learns one question, "is this danger?", from the n-gram counts
and the sentence encoder's vector, each scaled to unit length, the vector
weighted by ``dense_weight``, with regularisation ``C`` (config.yml). Training
the whole model again for every setting takes minutes each; neither setting
changes the features or the intent classifier, so this script featurises every
NLU example and every message of the safety sets once, with the trained
model's own featurizers, and refits the danger model alone for every setting
of a grid (rasa_ext.danger.fit, as training does). Each fit is judged on every
set exactly as the pipeline would decide: the trained intent classifier's
ranking, the refitted probability, the lexicon, and rasa_ext.safety.SafetyCheck
with config.yml's thresholds.

It prints, in one run:

1. a check that the method holds: config.yml's own setting, refitted here,
   against the probabilities the trained model gives (they should agree to
   rounding);
2. per setting, the danger found and the false alarms on the development set
   and summed over the held-out sets (``--select``), the pipeline's and the
   danger model's alone; config.yml's setting is marked;
3. per set, config.yml's setting beside the counts alone (``dense_weight`` 0).

Usage: ``make bench-danger`` (or ``LANTERN_MODEL=models/… python bench/danger.py
[--weights 0,0.2,0.3,0.45,1] [--C 10,30,100] [--select 1-16]``). Featurising
takes about two minutes and each fit under a minute: the default grid, about 15 minutes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from bench.safety import every_set, set_name
from catalogue.nlu_check import NLU, examples
from catalogue.safety import CATEGORIES

BATCH = 256


@dataclass
class Probe:
    """One message of a safety set, parsed up to SafetyCheck."""

    danger: bool
    message: Any  # rasa Message with its features, intent and ranking


def selection(spec: str, names: Iterable[str]) -> list[str]:
    """Held-out set names from ``1-16`` or ``1,3,5``; all of them from ``all``."""
    held_out = [n for n in names if n != "dev"]
    if spec == "all":
        return held_out
    chosen: list[str] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        chosen += [str(i) for i in range(int(low), int(high or low) + 1)]
    return [n for n in held_out if n in chosen]


class Graph:
    """The trained model's NLU graph, run up to a chosen node on batches of texts."""

    def __init__(self, model: str) -> None:
        from rasa.core.agent import Agent

        self.agent = Agent.load(model)
        processor = self.agent.processor
        self.schema = processor.model_metadata.predict_schema
        nodes = self.schema.nodes
        self.safety = next(n for n, s in nodes.items() if s.uses.__name__ == "SafetyCheck")
        self.danger = next(n for n, s in nodes.items() if s.uses.__name__ == "DangerClassifier")

    def config(self, node: str) -> dict[str, Any]:
        """A node's component config, defaults included."""
        schema = self.schema.nodes[node]
        return {**schema.uses.get_default_config(), **schema.config}

    def run(self, texts: list[str], upto: str) -> list[Any]:
        """The messages of ``texts`` as the input of node ``upto`` receives them."""
        from rasa.core.channels.channel import UserMessage
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.shared.core.trackers import DialogueStateTracker

        target = self.schema.nodes[upto].needs["messages"]
        out: list[Any] = []
        runner = self.agent.processor.graph_runner
        for start in range(0, len(texts), BATCH):
            batch = [UserMessage(t) for t in texts[start : start + BATCH]]
            results = runner.run(
                inputs={
                    PLACEHOLDER_MESSAGE: batch,
                    PLACEHOLDER_TRACKER: DialogueStateTracker("", []),
                },
                targets=[target],
            )
            out += results[target]
        return out


def training_examples(graph: Graph) -> list[Any]:
    """Every NLU example of every language, featurised, with its intent."""
    from rasa.shared.nlu.constants import INTENT

    # each (intent, text) once, as Rasa's TrainingData keeps it
    pairs = list(
        dict.fromkeys(
            (intent, text)
            for directory in sorted(p for p in NLU.iterdir() if p.is_dir())
            for intent, texts in examples(directory).items()
            for text in texts
        )
    )
    messages = graph.run([t for _, t in pairs], upto=graph.danger)
    for message, (intent, _) in zip(messages, pairs, strict=True):
        message.set(INTENT, intent)
    return messages


def probes(graph: Graph, path: Path) -> list[Probe]:
    """A safety set's messages, parsed up to SafetyCheck."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = [
        (kind == "danger", text)
        for kinds in data.values()
        for kind in ("danger", "ordinary")
        for text in kinds[kind]
    ]
    messages = graph.run([t for _, t in rows], upto=graph.safety)
    return [Probe(danger, m) for (danger, _), m in zip(rows, messages, strict=True)]


@dataclass
class Score:
    """Danger found and false alarms on one set, the pipeline's and the danger model's alone."""

    found: int = 0
    alarms: int = 0
    model_found: int = 0
    model_alarms: int = 0
    danger: int = 0
    ordinary: int = 0

    def add(self, other: Score) -> Score:
        return Score(
            *(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True))
        )

    def cell(self, model: bool = False) -> str:
        found, alarms = (
            (self.model_found, self.model_alarms) if model else (self.found, self.alarms)
        )
        return f"{100 * found / self.danger:.1f} / {100 * alarms / self.ordinary:.1f}"


def judge(probes: list[Probe], found: Any, graph: Graph) -> Score:
    """Decide each message as SafetyCheck would with the refitted probabilities."""
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from rasa_ext.danger import DANGER
    from rasa_ext.safety import SafetyCheck

    config = graph.config(graph.safety)
    check = SafetyCheck(**{k: config[k] for k in SafetyCheck.get_default_config()})
    score = Score()
    for probe, probability in zip(probes, found, strict=True):
        text = probe.message.get(TEXT)
        message = Message(
            data={
                TEXT: text,
                INTENT: dict(probe.message.get(INTENT) or {}),
                INTENT_RANKING_KEY: probe.message.get(INTENT_RANKING_KEY),
                DANGER: round(float(probability), 4),
            }
        )
        check.process([message])
        flagged = (message.get(INTENT) or {}).get("name") in CATEGORIES
        alone = probability >= check.danger_threshold
        if probe.danger:
            score.danger += 1
            score.found += flagged
            score.model_found += alone
        else:
            score.ordinary += 1
            score.alarms += flagged
            score.model_alarms += alone
    return score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="0,0.2,0.3,0.45,1")
    parser.add_argument("--C", dest="cs", default="10,30,100")
    parser.add_argument("--select", default="1-16", help="held-out sets summed (all: every one)")
    args = parser.parse_args()
    model = os.environ.get("LANTERN_MODEL")
    if not model or not Path(model).exists():
        print("LANTERN_MODEL must name a trained model (run `make bench-danger`)")
        return 2
    # Rasa logs every parse, text included, at debug level: the sets stay out of the output
    logging.disable(logging.WARNING)
    import numpy as np

    from rasa_ext.danger import DANGER, fit, probabilities

    graph = Graph(model)
    configured = graph.config(graph.danger)
    print("Featurising the NLU examples and the safety sets once ...", flush=True)
    train = training_examples(graph)
    named = {set_name(path): path for path in every_set()}
    parsed = {name: probes(graph, path) for name, path in named.items()}
    chosen = selection(args.select, named)

    model_now = fit(train, configured)
    assert model_now is not None
    every = [p for name in named for p in parsed[name]]
    refit = probabilities(model_now, [p.message for p in every], configured["dense_weight"])
    stored = np.array([float(p.message.get(DANGER) or 0) for p in every])
    print(
        f"\n1. config.yml's setting (dense_weight {configured['dense_weight']}, "
        f"C {configured['C']}) refitted here against the trained model, {len(every)} messages: "
        f"largest difference in probability {np.max(np.abs(refit - stored)):.4f}\n"
    )

    weights = [float(w) for w in args.weights.split(",")]
    cs = [float(c) for c in args.cs.split(",")]
    settings = sorted(
        {(w, c) for w in weights for c in cs}
        | {(0.0, 10.0)}
        | {(configured["dense_weight"], configured["C"])}
    )
    print(
        f"2. Per setting: recall / false alarms (%) on the development set and on held-out "
        f"sets {chosen[0]}-{chosen[-1]} together (the pipeline; the danger model alone)\n"
    )
    print("| dense_weight | C | dev | held-out | found | false alarms | danger model alone |")
    print("|---|---|---|---|---|---|---|")
    per_set: dict[tuple[float, float], dict[str, Score]] = {}
    for weight, c in settings:
        fitted = fit(train, {**configured, "dense_weight": weight, "C": c})
        assert fitted is not None
        scores = {
            name: judge(
                parsed[name],
                probabilities(fitted, [p.message for p in parsed[name]], weight),
                graph,
            )
            for name in named
        }
        per_set[(weight, c)] = scores
        total = Score()
        for name in chosen:
            total = total.add(scores[name])
        mark = (
            " (config.yml)" if (weight, c) == (configured["dense_weight"], configured["C"]) else ""
        )
        print(
            f"| {weight:g}{mark} | {c:g} | {scores['dev'].cell()} | {total.cell()} "
            f"| {total.found} of {total.danger} | {total.alarms} of {total.ordinary} "
            f"| {total.cell(model=True)} |",
            flush=True,
        )

    now = per_set[(configured["dense_weight"], configured["C"])]
    counts = per_set[(0.0, 10.0)]
    print(
        "\n3. Per set, recall / false alarms (%): config.yml's setting, the counts alone (C 10)\n"
    )
    print("| set | config.yml | counts alone |")
    print("|---|---|---|")
    for name in named:
        print(f"| {name} | {now[name].cell()} | {counts[name].cell()} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
