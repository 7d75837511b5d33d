"""Aftercare symptom-triage assistant: the code that is neither Rasa configuration nor thin Rasa actions.

Sub-packages:
    nlp        the project's own spaCy pipeline (lexicon -> entity ruler -> negation) and value parsing
    triage     the pure triage core: findings + patient context in, a level and its criteria out
    rasa_nlu   custom Rasa NLU components (the only place here that imports rasa)
    store      SQLAlchemy persistence behind a unit of work; Alembic migrations
    telegram   the python-telegram-bot gateway and staff commands (its TelegramMessenger is the outbox's adapter)
    outbox     the one worker delivering alerts and check-ins, its retry rule and the Messenger port
"""
