"""The persisted index: Chroma collections, the manifest, article texts, BM25 terms and sentence
vectors, built and updated by a single writer; damaged parts found and repaired."""
