"""What the outbox delivers: alerts to practitioners and notices to patients (alerts.py: `Notifier`), and the
check-ins and preparation guidance patients get (checkins.py: `CheckinSender`).

Each is a source plugged into the one outbox worker (bot.outbox.worker): it says which rows are due, words them
(bot.escalation.alerts, bot.checkins.texts) and records the outcome. They sit above the use cases (follow-ups,
read models) and the pure policies, so bot.escalation and bot.checkins stay pure.
"""
