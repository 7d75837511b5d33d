"""Getting red flags in front of a practitioner, as pure rules: who and when (policy), an escalation's life
(states), what the alert says (alerts). Sending them is bot.delivery.alerts, through the outbox (bot.outbox)."""
