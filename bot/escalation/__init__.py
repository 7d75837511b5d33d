"""Getting red flags in front of a practitioner: who and when (policy, states), what the alert says (alerts),
and alerts as a source of the outbox worker (notifier: AlertSource and Notifier; the worker, retry rule and
Messenger port are in bot.outbox)."""
