"""The outbox: delivering the messages the bot sends on its own (alerts to practitioners, check-ins and
preparation guidance to patients), at least once, through one worker.

worker.py     the loop: claim due rows under a lease, word them, send, record the outcome; Nudge, poll_forever
retry.py      the one retry rule (exponential backoff with jitter, RetryAfter honoured, a cap, permanent = give up)
messenger.py  the Messenger port (and ConsoleMessenger, the terminal's adapter)
errors.py     the three errors a Messenger raises

The kinds of message plug in as sources: bot.delivery.alerts (alerts), bot.delivery.checkins (check-ins).
Nothing here knows Telegram, escalations or check-ins (an import-linter contract in pyproject.toml).
"""
