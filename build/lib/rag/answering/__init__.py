"""A question answered from the index: which earlier question a follow-up leans on, hybrid
retrieval, evidence sentences and their signals, the learned models, the cited extractive answer."""
