"""The StudentEnrollment contract shared by the API and the operator.

Everything here is plain data and pure functions, and imports nothing of ours: coordinates
(:mod:`.labels`), naming rules (:mod:`.names`), the student's field rules the CRD states
(:mod:`.student_fields`), the typed spec (:mod:`.spec`) and the status view with its phases
and condition types (:mod:`.status`). The API writes the spec and reads the
status; the operator reads the spec and writes the status. Neither imports the other.
"""
