"""Extensions loaded into the Rasa server process: the NLG and the Lantern input channel."""
