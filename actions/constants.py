"""Slot, intent, action and response names shared by the actions (the domain file is the other half)."""

from bot.triage.conversation import DETAILS

# Actions
ACTION_TRIAGE = "action_triage"
ACTION_SESSION_START = "action_session_start"
ACTION_VALIDATE_TRIAGE_DETAILS = "validate_triage_details_form"

# Forms
FORM_TRIAGE_DETAILS = "triage_details_form"

# Intents
INTENT_REPORT_SYMPTOM = "report_symptom"
INTENT_EMERGENCY = "emergency"
INTENT_INFORM = "inform"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
INTENT_STOP = "stop"

# Slots
SLOT_PENDING_REPORT = "pending_report"
SLOT_TRIAGE_LEVEL = "triage_level"
SLOT_TREATMENT_HOURS = "hours_since_treatment"
SLOT_TREATMENT_METHOD = "treatment_method"
SLOT_TREATMENT_AREA = "treatment_area"
SLOT_DISCLAIMER_SHOWN = "disclaimer_shown"
SLOT_CLINIC_PHONE = "clinic_phone"
SLOT_EMERGENCY_NUMBER = "emergency_number"
SLOT_CALLBACK_MINUTES = "callback_minutes"  # settings.patient_callback_minutes, as text
SLOT_CLINIC_HOURS = "clinic_hours"
SLOT_SESSION_METADATA = "session_started_metadata"  # Rasa's own: metadata of the message that started the session
SLOT_REQUESTED = "requested_slot"  # Rasa's own: the slot a form is asking for
# The slots' initial values in domain.yml (a new session starts from them); the others start at None.
SLOT_INITIAL_VALUES = {
    SLOT_DISCLAIMER_SHOWN: False,
    SLOT_CLINIC_PHONE: "the clinic",
    SLOT_EMERGENCY_NUMBER: "your local emergency number",
    SLOT_CALLBACK_MINUTES: "30",
    SLOT_CLINIC_HOURS: "the clinic's opening hours",
}
# The triage details form's slots, one per clarifying question (bot.triage.conversation.DETAILS), in asking order
# (domain.yml: forms: triage_details_form: required_slots).
DETAIL_SLOTS = {detail: f"detail_{detail}" for detail in DETAILS}
SLOT_DETAILS = {slot: detail for detail, slot in DETAIL_SLOTS.items()}

# Responses
UTTER_DISCLAIMER = "utter_disclaimer"
UTTER_HOW_CAN_HELP = "utter_how_can_help"
UTTER_NOTED = "utter_noted"
UTTER_DESCRIBE = "utter_ask_describe"
UTTER_NOT_RECOGNISED = "utter_not_recognised"
UTTER_RECORD_FAILED = "utter_record_failed"
UTTER_NOBODY_TO_ALERT = "utter_nobody_to_alert"

# The details form's questions (Rasa's naming: utter_ask_<slot>); action_triage asks the first one itself.
UTTER_ASK_DETAIL = {slot: f"utter_ask_{slot}" for slot in DETAIL_SLOTS.values()}
# Said when an answer cannot be used, before the form asks the question (utter_ask_detail_<detail>) again.
UTTER_INVALID_DETAIL = {detail: f"utter_invalid_detail_{detail}" for detail in DETAILS}

# --- pre-treatment screening (bot/screening) ------------------------------------------------------------------
ACTION_SUBMIT_SCREENING = "action_submit_screening"
VALIDATE_SCREENING_FORM = "validate_screening_form"
FORM_SCREENING = "screening_form"
INTENT_START_SCREENING = "start_screening"
INTENT_ASK_AFTERCARE = "ask_aftercare"
UTTER_SCREENING_ANSWER_HELP = "utter_screening_answer_help"
UTTER_SCREENING_ALL_CLEAR = "utter_screening_all_clear"
UTTER_SCREENING_REVIEW = "utter_screening_review"
UTTER_SCREENING_RESCHEDULE = "utter_screening_reschedule"
UTTER_SCREENING_NOT_RECORDED = "utter_screening_not_recorded"
# The slots are "screening_<item>" for each item of bot.screening.items.ITEMS (items.slot_name).
