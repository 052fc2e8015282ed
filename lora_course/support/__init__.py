"""Support for the course's notebooks and setup: plotting, versions, the student's own workspace."""
