"""Rasa custom actions: thin. Parse the tracker, call bot.service, return events. Names live in constants.py."""
