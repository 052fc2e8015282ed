"""The ``lora-course`` command and its subcommands, one module each."""
