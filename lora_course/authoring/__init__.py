"""Course authoring: the student-notebook generator and safe file writes."""
