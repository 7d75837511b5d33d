"""Pre-treatment preparation and screening: what the patient is asked before an appointment, and what a
practitioner must review. Pure: no rasa_sdk, sqlalchemy or telegram imports (the store and actions use it)."""
