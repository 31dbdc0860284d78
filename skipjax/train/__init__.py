"""Training infrastructure: state, jitted train step, data parallelism, sweeps, checkpoints."""
