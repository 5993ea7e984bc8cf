"""LoRA fine-tuning: config (YAML), samples from the store, the trainer process and its job control.

Importing this package is cheap (no torch); the trainer loads torch/transformers/peft when it runs.
"""
