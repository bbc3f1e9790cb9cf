from __future__ import annotations

from bot.language import scripts


def test_main_script_counts_letters_only() -> None:
    assert scripts.profile("123 👍 !!").main is None
    assert scripts.profile("سلام 123").main == scripts.ARABIC
    assert scripts.profile("ሰላም hi").main == scripts.ETHIOPIC
    assert scripts.profile("привет").main == scripts.CYRILLIC
    assert scripts.profile("γεια").main == scripts.GREEK
    assert scripts.profile("নমস্কার").main == scripts.BENGALI
    assert scripts.profile("你好").main == scripts.OTHER


def test_distinctive_letters() -> None:
    pashto = scripts.letter_evidence("څنګه یې", scripts.ARABIC)
    assert pashto[frozenset({"ps"})] == 3  # څ ګ ې
    sorani = scripts.letter_evidence("چۆنی", scripts.ARABIC)
    assert sorani[frozenset({"ckb"})] == 1
    urdu = scripts.letter_evidence("کیسے ہیں", scripts.ARABIC)
    assert urdu[frozenset({"ur"})] == 2  # ے and ں
    assert scripts.letter_evidence("привіт", scripts.CYRILLIC)[frozenset({"uk"})] == 1
    assert scripts.letter_evidence("ኣብ", scripts.ETHIOPIC)[frozenset({"ti"})] == 1


def test_soft_letters_lean_without_deciding() -> None:
    soft = scripts.letter_evidence("ሓወይ ዓርከይ", scripts.ETHIOPIC, scripts.SOFT_LETTER_TABLES)
    assert soft == {frozenset({"ti"}): 2}
    assert scripts.letter_evidence("ሓወይ", scripts.ETHIOPIC) == {}
