"""The ``lora-course`` command and its subcommands, one module each."""

from lora_course.support.startup import skip_unused_format_checker

skip_unused_format_checker()
