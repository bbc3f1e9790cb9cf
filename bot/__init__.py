"""Lantern's Telegram gateway: receives children's messages, talks to Rasa, replies."""
