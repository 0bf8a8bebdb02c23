"""Evaluation: accuracy figures, and the realistic re-rendered test sets they are measured on."""

# The realistic sets (`handwritten.evaluation.realistic`), named here so the CLI can offer them
# without importing the renderers.
REALISTIC_SETS = ("canvas", "photo", "multi", "nondigit")
# Where a realistic set's digits come from: MNIST test (reporting) or the held-out tail of
# MNIST train (tuning and calibration).
DIGIT_SOURCES = ("test", "heldout")
