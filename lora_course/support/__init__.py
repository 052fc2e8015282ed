"""Support for the notebooks and setup: plotting, live widgets, versions, the student's own workspace."""
