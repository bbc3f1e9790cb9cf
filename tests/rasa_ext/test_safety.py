from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from rasa_ext.safety import SAFETY, SafetyCheck


def parsed(text: str, intent: str, confidence: float = 0.8) -> Message:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": confidence}})
    (processed,) = SafetyCheck().process([message])
    return processed


def test_a_danger_phrase_overrides_the_classifier() -> None:
    message = parsed("they took my passport, how do i get a new one", "ask_documents")
    assert message.get("intent")["name"] == "report_exploitation"
    assert message.get(SAFETY) == {
        "source": "lexicon",
        "category": "report_exploitation",
        "language": "en",
    }


def test_a_fallback_does_not_hide_danger() -> None:
    assert parsed("ክመውት እደሊ", "nlu_fallback", 0.2).get("intent")["name"] == "feeling_distress"


def test_ordinary_questions_and_buttons_are_left_alone() -> None:
    assert (
        parsed("how do i get a passport", "ask_documents").get("intent")["name"] == "ask_documents"
    )
    assert parsed("/emergency", "emergency").get(SAFETY) is None


def test_the_classifier_naming_danger_is_recorded() -> None:
    message = parsed("help me please they are coming", "emergency")
    assert message.get(SAFETY) == {"source": "intent", "category": "emergency"}


def ranked(text: str, ranking: list[tuple[str, float]]) -> Message:
    top = {"name": ranking[0][0], "confidence": ranking[0][1]}
    message = Message(
        data={
            "text": text,
            "intent": top,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
    )
    (processed,) = SafetyCheck().process([message])
    return processed


def test_danger_split_between_safety_intents_is_still_danger() -> None:
    # no single intent won, so the fallback took the message; together they are 0.74
    message = ranked(
        "my cousin comes at night",
        [("nlu_fallback", 0.3), ("report_abuse", 0.28), ("report_exploitation", 0.26),
         ("emergency", 0.2), ("ask_family", 0.1)],
    )  # fmt: skip
    assert message.get("intent") == {"name": "report_abuse", "confidence": 0.74}
    assert message.get(SAFETY) == {"source": "intents", "category": "report_abuse"}


def test_danger_that_won_by_a_nose_but_is_unlikely_gives_way() -> None:
    message = ranked(
        "how much money do i get",
        [("report_exploitation", 0.45), ("ask_food", 0.4), ("ask_work", 0.15)],
    )
    assert message.get("intent") == {"name": "ask_food", "confidence": 0.4}
    # not danger, but the child is asked whether they are safe
    assert message.get(SAFETY) == {
        "source": "check",
        "category": "report_exploitation",
        "danger": 0.45,
    }
    # with no plausible ordinary reading: an alarm becomes "say more", distress stays
    unsure = ranked("mmm", [("emergency", 0.35), ("help", 0.2), ("ask_shelter", 0.2)])
    assert unsure.get("intent") == {"name": "nlu_fallback", "confidence": 0.3}
    assert unsure.get(SAFETY)["source"] == "check"
    sad = ranked(
        "everything is grey today", [("feeling_distress", 0.35), ("help", 0.2), ("greet", 0.2)]
    )
    assert sad.get("intent") == {"name": "feeling_distress", "confidence": 0.35}
    assert sad.get(SAFETY) == {"source": "intent", "category": "feeling_distress"}


def test_the_lexicon_still_wins_over_a_doubtful_classifier() -> None:
    message = ranked("he keeps my passport", [("report_exploitation", 0.4), ("ask_documents", 0.6)])
    assert message.get("intent")["name"] == "report_exploitation"
    assert message.get(SAFETY)["source"] == "lexicon"


def test_some_danger_asks_the_check_question_and_keeps_the_answer() -> None:
    message = ranked(
        "the man at work shouts when i am slow",
        [("ask_work", 0.6), ("report_exploitation", 0.2), ("report_abuse", 0.1),
         ("ask_rights", 0.1)],
    )  # fmt: skip
    assert message.get("intent") == {"name": "ask_work", "confidence": 0.6}
    assert message.get(SAFETY) == {"source": "check", "category": "report_exploitation",
                                   "danger": 0.3}  # fmt: skip


def test_little_danger_asks_nothing() -> None:
    message = ranked("where is school", [("ask_school", 0.8), ("emergency", 0.2)])
    assert message.get(SAFETY) is None


def judged(danger: float, ranking: list[tuple[str, float]], text: str = "x") -> Message:
    """A message the DangerClassifier has judged, checked as config.yml does."""
    message = Message(
        data={
            "text": text,
            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "danger": danger,
        }
    )
    (processed,) = SafetyCheck(danger_threshold=0.75, check_threshold=0.4).process([message])
    return processed


def test_the_danger_classifier_decides_when_the_pipeline_has_it() -> None:
    # danger it is sure of, though no safety intent made the ranking: the card
    sure = judged(0.9, [("ask_shelter", 0.7), ("ask_food", 0.3)])
    assert sure.get("intent") == {"name": "emergency", "confidence": 0.9}
    # the intents add up to danger, but the one question says unlikely: asked, not alarmed
    doubtful = judged(0.45, [("ask_work", 0.4), ("report_exploitation", 0.35), ("emergency", 0.25)])
    assert doubtful.get("intent")["name"] == "ask_work"
    assert doubtful.get(SAFETY)["source"] == "check"
    assert judged(0.1, [("ask_work", 0.6), ("report_abuse", 0.4)]).get(SAFETY) is None


def test_both_classifiers_finding_danger_more_likely_than_not_is_enough() -> None:
    agreed = judged(0.55, [("report_abuse", 0.5), ("ask_shelter", 0.3), ("emergency", 0.2)])
    assert agreed.get(SAFETY) == {"source": "intent", "category": "report_abuse"}
    # the intents agree though an ordinary one is on top: the likeliest kind's card
    spread = judged(0.55, [("ask_work", 0.4), ("report_exploitation", 0.35), ("emergency", 0.25)])
    assert spread.get("intent") == {"name": "report_exploitation", "confidence": 0.55}
    # a safety intent on top by a nose, the intents less than half: only the question
    nose = judged(
        0.55,
        [("feeling_distress", 0.35), ("ask_onward_travel", 0.3), ("ask_work", 0.25),
         ("emergency", 0.1)],
    )  # fmt: skip
    assert nose.get("intent") == {"name": "ask_onward_travel", "confidence": 0.3}
    assert nose.get(SAFETY)["source"] == "check"
    # the same probability under an ordinary intent is only worth the question
    assert judged(0.55, [("ask_shelter", 0.6), ("report_abuse", 0.4)]).get(SAFETY)["source"] == (
        "check"
    )


def test_the_intent_classifier_alone_can_be_sure_of_danger() -> None:
    ranking = [("emergency", 0.7), ("ask_health", 0.3)]
    message = Message(
        data={
            "text": "x",
            "intent": {"name": "emergency", "confidence": 0.7},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "danger": 0.2,  # the danger model doubts it
        }
    )
    check = SafetyCheck(danger_threshold=0.7, check_threshold=0.5, intents_threshold=0.7)
    (sure,) = check.process([message])
    assert sure.get(SAFETY) == {"source": "intent", "category": "emergency"}
    # without the threshold the doubt wins, as before
    doubted = judged(0.2, ranking)
    assert doubted.get("intent")["name"] == "ask_health"
    assert doubted.get(SAFETY) is None


def test_a_question_about_a_risk_is_asked_about_not_alarmed() -> None:
    # both classifiers hear danger in "dangerous"; the child asked about swimming
    swim = [("emergency", 0.7), ("ask_health", 0.3)]
    for text in ("is it dangerous to swim in the sea here", "опасно ли тут плавать в море"):
        message = judged(0.9, swim, text)
        assert message.get("intent")["name"] == "ask_health", text
        assert message.get(SAFETY) == {"source": "check", "category": "emergency", "danger": 0.9}
    # nothing left to answer: "I did not understand", and the question
    alone = judged(0.9, [("emergency", 0.98), ("ask_work", 0.02)], "في خطر اذا سبحت بالبحر هون")
    assert alone.get("intent")["name"] == "nlu_fallback"
    assert alone.get(SAFETY)["source"] == "check"
    # said, not asked: danger
    assert judged(0.9, swim, "it is dangerous here").get(SAFETY)["source"] == "intent"
    # a danger phrase in the question: danger, as the classifiers said
    knife = judged(0.9, swim, "is it dangerous, a man with a knife is outside")
    assert knife.get(SAFETY) == {"source": "intent", "category": "emergency"}
