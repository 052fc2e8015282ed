"""The toy transformer of lessons 03-04: layer norm, MLP, attention, Adam, the model, block stacks."""
