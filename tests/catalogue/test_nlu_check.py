"""catalogue.nlu_check: the NLU examples behind every intent, in every language."""

from __future__ import annotations

from pathlib import Path

import yaml

from catalogue import ROOT, default_catalogue
from catalogue.nlu_check import MIN_EXAMPLES, coverage, examples, load, problems


def write(nlu: Path, code: str, blocks: dict[str, list[str]]) -> None:
    directory = nlu / code
    directory.mkdir(parents=True, exist_ok=True)
    body = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
        for intent, texts in blocks.items()
    ]
    (directory / "basics.yml").write_text(
        yaml.safe_dump({"version": "3.1", "nlu": body}, allow_unicode=True), encoding="utf-8"
    )


def many(word: str) -> list[str]:
    return [f"{word} {n}" for n in range(MIN_EXAMPLES)]


def test_complete_data_has_no_problems(tmp_path: Path) -> None:
    for code in ("en", "fr"):
        write(tmp_path, code, {"greet": many(f"hi {code}"), "deny": many(f"no {code}")})
    data = load(["en", "fr"], tmp_path)
    assert problems(["greet", "deny"], data) == []
    assert coverage(data)[1:] == [
        f"  en      {2 * MIN_EXAMPLES}   {MIN_EXAMPLES} (deny)",
        f"  fr      {2 * MIN_EXAMPLES}   {MIN_EXAMPLES} (deny)",
    ]


def test_an_intent_with_too_few_examples_in_one_language(tmp_path: Path) -> None:
    write(tmp_path, "en", {"greet": many("hi"), "deny": many("no")})
    write(tmp_path, "fr", {"greet": many("salut"), "deny": ["non"]})
    assert problems(["greet", "deny"], load(["en", "fr"], tmp_path)) == [
        f"nlu/fr deny: 1 examples (at least {MIN_EXAMPLES})"
    ]


def test_one_example_under_two_intents_and_unknown_intents(tmp_path: Path) -> None:
    write(tmp_path, "en", {"greet": [*many("hi"), "Hello"], "goodbye": [*many("bye"), "hello"]})
    found = problems(["greet"], load(["en"], tmp_path))
    assert "nlu/en goodbye: not an intent of the domain" in found
    assert "nlu/en: 'hello' under goodbye, greet" in found


def test_yes_and_no_turned_into_yaml_booleans(tmp_path: Path) -> None:
    write(tmp_path, "so", {"affirm": [*many("haa"), "True"], "deny": [*many("maya"), "False"]})
    found = problems(["affirm", "deny"], load(["so"], tmp_path))
    assert "nlu/so affirm: example 'True' is a YAML scalar" in found
    assert "nlu/so deny: example 'False' is a YAML scalar" in found


def test_annotations_are_read_as_the_text_a_child_typed(tmp_path: Path) -> None:
    write(tmp_path, "en", {"inform_country": ["i am in [Italy](country)", *many("in")]})
    assert "i am in Italy" in examples(tmp_path / "en")["inform_country"]
    assert "i am in [Italy](country)" in examples(tmp_path / "en", annotated=True)["inform_country"]


def test_the_project_data_passes() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    languages = [language.code for language in default_catalogue().languages]
    assert problems(domain["intents"], load(languages)) == []


def test_no_message_of_the_safety_measuring_sets_is_a_training_example() -> None:
    """bench/data holds sets for measuring only: a copy in the NLU data would flatter them."""

    def plain(text: str) -> str:
        return " ".join(text.casefold().split())

    languages = [language.code for language in default_catalogue().languages]
    trained = {
        plain(text)
        for per_intent in load(languages).values()
        for texts in per_intent.values()
        for text in texts
    }
    copied = []
    for path in sorted((ROOT / "bench" / "data").glob("safety*.yml")):
        for code, sets in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            for kind in ("danger", "ordinary"):
                copied += [(path.name, code, t) for t in sets[kind] if plain(t) in trained]
    assert copied == []
