"""LoRA fine-tuning: the Train dialog and the Training tab."""
