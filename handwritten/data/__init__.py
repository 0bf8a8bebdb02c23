"""Data: MNIST (fetch, verify, read), preprocessing any picture, the personal sample store."""
