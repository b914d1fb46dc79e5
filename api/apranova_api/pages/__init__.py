"""The student-facing pages: server-rendered templates with a little plain JavaScript."""
