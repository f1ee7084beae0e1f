"""Training and evaluation behind ``python -m rag train`` and ``python -m rag eval``: the answer
models fitted fold by fold on XQuAD-dev, scores against gold sets and peers, the printed tables."""
