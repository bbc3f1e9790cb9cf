"""Custom actions for the Rasa action server (``rasa run actions``).

Each module holds one capability. Actions are thin adapters: read the tracker,
call a plain function, reply with a named response, return events.
"""
