"""The Telegram gateway: patients and practitioners talk to the clinic's bot; text goes to Rasa.

Start reading at app.py (the application), then handlers/, ports.py (what the gateway needs from the rest of
the system, built by the composition root: bot.bootstrap) and standin.py (a local Telegram Bot API for offline development and tests).
"""
