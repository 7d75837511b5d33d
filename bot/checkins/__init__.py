"""Scheduled check-ins: the bot asks patients how they are doing at set times after their treatment.

schedule.py  which check-ins a treatment gets, and when (pure)
texts.py     what the patient reads, and the quick-answer buttons
(sending them is bot.delivery.checkins, a source of the outbox worker: due, worded, recorded; sent once each)
"""
