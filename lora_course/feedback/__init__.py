"""Feedback for students: answer keys, and the checks of the implement-it tasks (``lora_course.feedback.tasks``)."""
