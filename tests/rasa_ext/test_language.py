from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from rasa_ext.language import DETECTION, LanguageDetection


def test_detection_is_added_to_the_parse_data() -> None:
    message = Message(data={"text": "زه ماشوم یم او اوس په ایټالیا کې یم"})
    (processed,) = LanguageDetection().process([message])
    found = processed.get(DETECTION)
    assert found["language"] == "ps" and found["words"] == 9
    assert DETECTION in processed.as_dict(only_output_properties=True)
