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


def examples(directory: Path) -> dict[str, list[str]]:
    """Each intent's examples in one language's files, as the child would type them."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(directory.glob("*.yml")):
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip()
                if text.startswith("- "):
                    found[block["intent"]].append(ANNOTATION.sub(r"\1", text[2:].strip()))
    return found


def typed(languages: list[str], nlu: Path = NLU) -> list[str]:
    """Intents with examples in any language; the domain's others come from buttons."""
    return sorted({intent for code in languages for intent in examples(nlu / code)})


def problems(domain: list[str], languages: list[str], nlu: Path = NLU) -> list[str]:
    """Everything wrong with the NLU data, one line each; empty when all is well."""
    found: list[str] = []
    intents = typed(languages, nlu)
    for code in languages:
        per_intent = examples(nlu / code)
        for intent in intents:
            if len(per_intent.get(intent, [])) < MIN_EXAMPLES:
                count = len(per_intent.get(intent, []))
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


def coverage(languages: list[str], nlu: Path = NLU) -> list[str]:
    """Examples per language, and the intent with the fewest."""
    intents = typed(languages, nlu)
    lines = [f"NLU examples per language ({len(intents)} intents; fewest for one intent):"]
    for code in languages:
        counts = Counter({i: len(t) for i, t in examples(nlu / code).items() if i in intents})
        fewest = min(intents, key=lambda intent: counts[intent])
        lines.append(f"  {code:4} {sum(counts.values()):5}  {counts[fewest]:3} ({fewest})")
    return lines
