"""Jobs: training runs as separate processes, one per machine, and reading their progress."""
