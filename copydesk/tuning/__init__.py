"""Tuning: training data from reference files and editors' approvals, LoRA (or full)
fine-tuning of a local causal LM, and evaluation with the pipeline's own checks.

- `examples`: training examples (prompt as the pipeline sends it, text, who wrote it),
  quarantined rows, a held-out split by input, the data digest;
- `provenance`: who wrote an approved section (editor, model or the template fallback);
- `precision`: the dtype training and generation use on this device;
- `training`: the training loop, checkpoints and resume; `artifacts`: the saved adapter;
- `evaluation`: slot error rate, BLEU and greedy generations with or without an adapter.
"""
