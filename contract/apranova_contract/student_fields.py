"""The rules a student's contact fields obey, shared by the API and the StudentEnrollment CRD.

``crds/studentenrollments.yaml`` states the same limits for ``spec.student.email`` and
``spec.student.name`` (``tests/unit/contract/test_student_fields.py`` fails when they drift
apart), so the API refuses, before its first write, what the cluster would refuse after it.
The email limit is RFC 5321's 254 characters for a path
(https://www.rfc-editor.org/errata/eid1690).
"""

from __future__ import annotations

import re

EMAIL_MAX_LENGTH = 254
EMAIL_MIN_LENGTH = 3
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NAME_MAX_LENGTH = 200

_EMAIL = re.compile(EMAIL_PATTERN)


def email_problem(email: str) -> str:
    """Why ``email`` cannot be a student's email, or ``""`` (pure).

    The length is counted in UTF-8 bytes, never fewer than characters, so whatever passes here
    passes the API server's ``maxLength`` too.
    """
    size = len(email.encode("utf-8"))
    if size > EMAIL_MAX_LENGTH:
        return f"email is {size} bytes long; at most {EMAIL_MAX_LENGTH} are allowed"
    if len(email) < EMAIL_MIN_LENGTH or not _EMAIL.match(email):
        return "email is not an address like name@example.com"
    return ""
