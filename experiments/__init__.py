"""skipjax experiments: one config per paper task (configs/), one runner (run.py), results/."""
