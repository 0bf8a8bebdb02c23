"""Evaluation: accuracy figures, and the realistic re-rendered test sets they are measured on."""
