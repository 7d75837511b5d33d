"""Update handlers: patient.py (patients), staff.py (practitioners), errors.py (the error handler)."""
