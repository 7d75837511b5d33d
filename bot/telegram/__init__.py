"""The Telegram gateway: patients and practitioners talk to the clinic's bot; text goes to Rasa.

Start reading at app.py (the application), then handlers/ and ports.py (what the gateway needs from the rest of
the system, built by the composition root: bot.bootstrap). The local Telegram Bot API for offline development
and tests is devtools/telegram_standin.py (not part of the product).
"""
