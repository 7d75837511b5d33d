"""Getting red flags in front of a practitioner: who and when (policy, followups), what the alert says (alerts),
and delivering the outbox at least once through any messenger (notifier). Messenger errors are in errors."""
