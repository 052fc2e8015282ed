"""Detect a student's task answered with the package's own implementation (the reference): the entry points.

The rule: a task's objects (its ``task_names``, e.g. ``LoRA``) must not be, subclass, wrap, call or otherwise
lean on the package objects named in ``references`` (dotted names such as ``lora_course.layer.LoRA``). Using
numpy, or the package's helpers a lesson hands out (``lora_course.lessons.l05_project``,
``lora_course.feedback.answers.check``), is fine. Two halves apply it:

- ``static_findings``, ``findings_for`` (reference_static.py): the source text, read by the grader in its own
  process on the submission's answer cells.
- ``dynamic_findings`` (reference_dynamic.py): the live objects in the notebook's namespace, for the
  notebook's own check.
- ``reference_objects`` (reference_names.py): the references' dotted names resolved to live objects.
"""

from lora_course.feedback.reference_dynamic import dynamic_findings
from lora_course.feedback.reference_names import reference_objects
from lora_course.feedback.reference_static import Finding, findings_for, static_findings

__all__ = ["Finding", "dynamic_findings", "findings_for", "reference_objects", "static_findings"]
