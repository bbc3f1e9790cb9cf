"""The NLU examples behind every intent, in every language (part of ``make content-check``).

Fails on: an intent that children type (one with examples in any language)
with fewer than ``MIN_EXAMPLES`` examples in a language's ``data/nlu/<code>/``
files; an intent there that the domain does not know; one example filed under
two intents of the same language (the classifier cannot learn both); an
example that is a YAML scalar turned into text ("True", "False", "None"), which
is what a list item "yes", "no" or "null" becomes when data passes through a
YAML loader and is written back.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from catalogue import ROOT

NLU = ROOT / "data" / "nlu"
MIN_EXAMPLES = 15  # issue 4: at least 15 examples per intent per language
YAML_SCALARS = {"True", "False", "None"}
# an entity annotation, [text](entity) or [text]{"entity": ...}: the child typed only the text
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def plain(text: str) -> str:
    """The text a child typed: entity annotations removed."""
    return ANNOTATION.sub(r"\1", text)


def examples(directory: Path, annotated: bool = False) -> dict[str, list[str]]:
    """Each intent's examples in one language's files, as the child typed them.

    With ``annotated``, as written, entity annotations kept (for training).
    """
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(directory.glob("*.yml")):
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip()
                if text.startswith("- "):
                    text = text[2:].strip()
                    found[block["intent"]].append(text if annotated else plain(text))
    return found


Data = dict[str, dict[str, list[str]]]  # language -> intent -> examples


def load(languages: list[str], nlu: Path = NLU) -> Data:
    """Every language's examples, by intent."""
    return {code: examples(nlu / code) for code in languages}


def typed(data: Data) -> list[str]:
    """Intents with examples in any language; the domain's others come from buttons."""
    return sorted({intent for per_intent in data.values() for intent in per_intent})


def problems(domain: list[str], data: Data) -> list[str]:
    """Everything wrong with the NLU data, one line each; empty when all is well."""
    found: list[str] = []
    intents = typed(data)
    for code, per_intent in data.items():
        for intent in intents:
            count = len(per_intent.get(intent, []))
            if count < MIN_EXAMPLES:
                found.append(f"nlu/{code} {intent}: {count} examples (at least {MIN_EXAMPLES})")
        filed: dict[str, set[str]] = defaultdict(set)
        for intent, texts in per_intent.items():
            if intent not in domain:
                found.append(f"nlu/{code} {intent}: not an intent of the domain")
            for text in texts:
                filed[text.casefold()].add(intent)
                if text in YAML_SCALARS:
                    found.append(f"nlu/{code} {intent}: example {text!r} is a YAML scalar")
        for text, where in sorted(filed.items()):
            if len(where) > 1:
                found.append(f"nlu/{code}: {text!r} under {', '.join(sorted(where))}")
    return found


def coverage(data: Data) -> list[str]:
    """Examples per language, and the intent with the fewest."""
    intents = typed(data)
    lines = [f"NLU examples per language ({len(intents)} intents; fewest for one intent):"]
    for code, per_intent in data.items():
        counts = Counter({intent: len(per_intent.get(intent, [])) for intent in intents})
        fewest = min(intents, key=lambda intent: counts[intent])
        lines.append(f"  {code:4} {sum(counts.values()):5}  {counts[fewest]:3} ({fewest})")
    return lines
